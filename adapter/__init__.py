"""Serve the OpenAI Chat Completions API over Google Gemini."""
