"""Pure translation between OpenAI and Gemini shapes: dicts in, dicts out, no I/O."""
