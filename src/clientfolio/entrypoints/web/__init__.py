"""The web app: server-rendered pages (Jinja2) over the same services as the API, for staff in a browser."""
