"""The published API description: what each route promises, and the document built from it."""
