"""Imports from the admin: an admin uploads a file, a worker runs it; underwriters may only look."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import CustomerProfile
from etl.choices import BatchStatus
from etl.models import ImportBatch

ADD = reverse("admin:etl_importbatch_add")
FILE = b"customer_number,first_name,last_name\nC-1,Ann,Archer\nC-2,Ben,Baker\nC-2,Ben,Again\n"


def test_an_admin_upload_is_run_by_the_worker_as_the_uploader(client, personas, django_capture_on_commit_callbacks):
    client.force_login(personas.admin)
    assert client.get(ADD).status_code == 200
    upload = SimpleUploadedFile("crm.csv", FILE, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD, {"file": upload, "mapping_name": "customers", "reject_threshold": "0.5", "dry_run": ""}
        )
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.DONE
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (3, 2, 1)
    assert batch.actor == personas.admin
    assert batch.file_name == "crm.csv"
    assert CustomerProfile.objects.filter(external_reference__in=["C-1", "C-2"]).count() == 2
    assert CustomerProfile.history.filter(history_user=personas.admin).count() == 2
    page = client.get(reverse("admin:etl_importbatch_change", args=[batch.pk]))
    assert page.status_code == 200
    assert b"already appears in row 3" in page.content
    download = client.get(reverse("admin:etl_importbatch_rejects", args=[batch.pk]))
    assert download.status_code == 200
    assert b"row,column,reason,customer_number" in b"".join(download.streaming_content)


def test_a_bad_threshold_is_a_form_error_and_nothing_is_stored(client, personas):
    client.force_login(personas.admin)
    upload = SimpleUploadedFile("crm.csv", FILE, content_type="text/csv")
    response = client.post(ADD, {"file": upload, "mapping_name": "customers", "reject_threshold": "7"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not ImportBatch.objects.exists()


def test_underwriters_see_imports_but_cannot_start_one(client, personas):
    client.force_login(personas.underwriter)
    assert client.get(reverse("admin:etl_importbatch_changelist")).status_code == 200
    assert client.get(ADD).status_code == 403
