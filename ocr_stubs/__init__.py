"""Stand-in OCR engines. The `OcrEngine` port they fit is defined where the domain uses it,
`services.uploads.ocr`; nothing here imports the server or the mock gateway.
"""
