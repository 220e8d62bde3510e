from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from insurance.core.admin import AuditedModelAdmin, ReadOnlyModelAdmin
from insurance.core.exceptions import ServiceError

from . import services
from .models import ExtractRun, ImportBatch


class ImportUploadForm(forms.ModelForm):
    """An import from the admin: the file is stored and a Celery worker runs it (large files take a while)."""

    file = forms.FileField(help_text="CSV or Excel (.xlsx) export.")
    mapping_name = forms.ChoiceField(label="Mapping", choices=())
    reject_threshold = forms.FloatField(
        min_value=0, max_value=1, initial=settings.IMPORT_REJECT_THRESHOLD, help_text="Share of rows, 0 to 1."
    )

    class Meta:
        model = ImportBatch
        fields = ("file", "mapping_name", "dry_run", "reject_threshold")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mapping_name"].choices = [(name, name) for name in services.available_mappings()]


@admin.register(ImportBatch)
class ImportBatchAdmin(AuditedModelAdmin):
    list_display = (
        "pk",
        "file_name",
        "mapping_name",
        "status",
        "dry_run",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
        "actor",
        "created_at",
    )
    list_filter = ("status", "mapping_name", "dry_run")
    search_fields = ("file_name", "sha256")
    readonly_fields = (
        "file_name",
        "sha256",
        "mapping_name",
        "mapping",
        "status",
        "dry_run",
        "reject_threshold",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
        "counts",
        "reject_file",
        "reject_sample",
        "error",
        "actor",
        "started_at",
        "finished_at",
        "created_at",
        "updated_at",
    )
    exclude = ("upload", "rejects")

    @admin.display(description="Reject file")
    def reject_file(self, obj: ImportBatch) -> str:
        if not obj.rejects:
            return "-"
        url = reverse("admin:etl_importbatch_rejects", args=[obj.pk])
        return format_html('<a href="{}">import-{}-rejects.csv</a> ({} rows)', url, obj.pk, obj.rows_rejected)

    def get_urls(self):
        rejects = path(
            "<int:pk>/rejects/", self.admin_site.admin_view(self.rejects_view), name="etl_importbatch_rejects"
        )
        return [rejects, *super().get_urls()]

    def rejects_view(self, request, pk: int) -> FileResponse:
        """The reject file as a download (media files are never served directly)."""
        batch = get_object_or_404(ImportBatch, pk=pk)
        if not self.has_view_permission(request, batch) or not batch.rejects:
            raise Http404
        return FileResponse(batch.rejects.open("rb"), as_attachment=True, filename=f"import-{pk}-rejects.csv")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ImportUploadForm
            kwargs["fields"] = ImportUploadForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ImportUploadForm.Meta.fields
        return self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        """Store the upload through the service, which hands the run to a worker (through the outbox)."""
        upload = form.cleaned_data["file"]
        try:
            batch = services.import_batch_create(
                actor=request.user,
                file_name=upload.name,
                upload=upload,
                mapping_name=form.cleaned_data["mapping_name"],
                dry_run=form.cleaned_data["dry_run"],
                reject_threshold=form.cleaned_data["reject_threshold"],
            )
        except ServiceError as error:
            raise forms.ValidationError(error.message) from error
        obj.pk = batch.pk


@admin.register(ExtractRun)
class ExtractRunAdmin(ReadOnlyModelAdmin):
    list_display = ("fact", "format", "since", "until", "rows", "path", "actor")
    list_filter = ("fact", "format")
