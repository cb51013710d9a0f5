"""The mock gateway's features, one blueprint each, as the backend's server/routes."""
