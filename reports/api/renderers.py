"""`Accept: text/csv` or `?format=csv` selects CSV. The feeds stream it themselves (`FeedView.stream_csv`); this
renderer only takes part in content negotiation and renders nothing else."""

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        raise TypeError("feeds stream their CSV; nothing else renders as CSV")
