"""DRF building blocks shared by every app's API: permission class, base viewsets, pagination, error body."""
