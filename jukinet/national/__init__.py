"""The national mock (全国サーバ / 附票全国サーバ): a separate process with its own tables.

See docs/national-mock.md. The prefecture's own code reaches it only through
``jukinet.national_client``.
"""
