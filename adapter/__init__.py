"""Serve OpenAI's API (Chat Completions, Responses, embeddings, images) over Google Gemini."""
