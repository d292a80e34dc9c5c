"""Security headers on every HTTP response (#14 finding 10)."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    """No MIME sniffing, no framing by any page (clickjacking), no Referer to the pages a
    response links to, and HSTS when the deployment is served over HTTPS. The policy has
    frame-ancestors only, so GraphiQL's page and scripts load as before (development)."""

    def __init__(self, app: ASGIApp, hsts: bool):
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", b"frame-ancestors 'none'"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [header for header in self.headers if header[0] not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
