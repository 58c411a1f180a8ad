"""Use cases. The only API that the CLI, the web pages and the WebDAV provider call."""
