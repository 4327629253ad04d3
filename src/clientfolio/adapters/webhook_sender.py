"""Sending one webhook delivery over HTTP (httpx): a short timeout, no redirects, the answer's status only."""

from __future__ import annotations

import httpx

TIMEOUT_SECONDS = 5.0


class HttpSender:
    def __init__(self, timeout: float = TIMEOUT_SECONDS):
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False,
                                    headers={"User-Agent": "Clientfolio-Webhooks/1"})

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """(HTTP status, None) when the endpoint answered, (None, what went wrong) when it did not."""
        try:
            response = self._client.post(url, content=body, headers={"Content-Type": "application/json", **headers})
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: could not deliver"[:200]
        return response.status_code, None
