"""Imports end to end: the public insurance_claims.csv, our own export formats, bad files and re-runs."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import CustomerProfile, User
from claims.choices import InvestigationOutcome
from claims.models import Claim, ClaimEvent
from etl import services
from etl.choices import BatchStatus
from etl.models import ImportBatch
from insurance.core.audit import system_account
from insurance.core.exceptions import ServiceError
from insurance.core.roles import Role
from policies.demo import create_demo_products
from policies.models import CoverageLine, InsuredVehicle, Policy

SHARED_CLAIMS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "insurance_claims.csv"

CUSTOMER_HEADER = (
    "customer_number,first_name,last_name,email,phone,date_of_birth,sex,address,city,postal_code,region,country,"
    "bank_account,agent_licence"
)
POLICY_HEADER = (
    "policy_number,product_code,customer_number,agent_licence,effective_date,expiry_date,premium,currency,status,"
    "cancelled_on"
)
CLAIM_HEADER = (
    "claim_number,policy_number,incident_at,reported_at,loss_type,place,description,amount,currency,police_report,"
    "witnesses,status,fraud"
)


@pytest.fixture
def actor(db):
    return system_account("command")


@pytest.fixture
def products(db):
    return {product.code: product for product in create_demo_products()}


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def rejects_of(batch: ImportBatch) -> list[dict]:
    if not batch.rejects:
        return []
    with batch.rejects.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8"))))


def run(actor, path: Path, mapping: str, **kwargs) -> ImportBatch:
    return services.import_run(actor=actor, path=path, mapping_name=mapping, **kwargs)


# --- The public insurance_claims.csv ---------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED_CLAIMS.exists(), reason="shared/data/insurance_claims.csv is not on this machine")
def test_insurance_claims_csv_arrives_whole_and_a_second_run_adds_nothing(actor, products):
    batch = run(actor, SHARED_CLAIMS, "insurance_claims", reject_threshold=0)

    assert batch.status == BatchStatus.DONE, batch.reject_sample
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (1000, 1000, 0)
    assert batch.sha256 == "be11b9370c0cda353a4519832803d07bb90a494e91dfd9d56a85aa4093ba5378"
    claims = Claim.objects.filter(number__startswith="IC-")
    assert claims.count() == 1000
    assert claims.filter(investigation_outcome=InvestigationOutcome.CONFIRMED_FRAUD).count() == 247
    assert claims.filter(investigation_outcome=InvestigationOutcome.LEGITIMATE).count() == 753
    assert Policy.objects.filter(claims__in=claims).distinct().count() == 1000
    assert InsuredVehicle.objects.filter(policy__claims__in=claims).count() == 1000
    assert CustomerProfile.objects.filter(external_reference__startswith="IC-").count() == 1000
    assert User.objects.filter(username__startswith="imp-ic-", groups__name=Role.CUSTOMER).count() == 1000

    claim = Claim.objects.select_related("policy__vehicle", "claimant__customer_profile").get(number="IC-521585")
    assert claim.amount_claimed == Decimal("71610")
    assert claim.loss_type == "collision"
    assert claim.police_report_filed is True
    assert claim.witness_count == 2
    assert claim.incident_at.isoformat() == "2015-01-25T05:00:00+00:00"
    assert claim.attributes["incident_severity"] == "Major Damage"
    assert claim.attributes["collision_type"] == "Side Collision"
    assert "_c39" not in claim.attributes
    assert claim.policy.premium == Decimal("1406.91")
    assert claim.policy.effective_date.isoformat() == "2014-10-17"
    assert (claim.policy.vehicle.make, claim.policy.vehicle.model, claim.policy.vehicle.year) == ("Saab", "92x", 2004)
    line = CoverageLine.objects.get(policy=claim.policy)
    assert (line.coverage.code, line.limit, line.deductible) == ("liability", Decimal("500000"), Decimal("1000"))
    profile = claim.claimant.customer_profile
    assert (profile.sex, profile.region, profile.postal_code) == ("M", "OH", "466132")
    assert profile.attributes["hobbies"] == "sleeping"
    assert profile.attributes["age"] == 48
    # "?" is missing: the second row has no collision type and no police report answer.
    theft = Claim.objects.get(number="IC-342868")
    assert "collision_type" not in theft.attributes
    assert theft.police_report_filed is False
    assert theft.loss_type == "theft"
    # Every record has its history row naming the batch and the actor, and a timeline event.
    reason = batch.change_reason
    assert Claim.history.filter(history_change_reason=reason, history_type="+").count() == 1000
    assert Policy.history.filter(history_change_reason=reason, history_user=actor).count() == 1000
    assert ClaimEvent.objects.filter(kind="imported", claim__in=claims).count() == 1000

    history_rows = Claim.history.count() + Policy.history.count() + CustomerProfile.history.count()
    again = run(actor, SHARED_CLAIMS, "insurance_claims", reject_threshold=0)
    assert again.status == BatchStatus.DONE
    assert again.rows_loaded == 1000
    assert {name: count for name, count in again.counts.items() if not name.endswith("_unchanged")} == {
        name: 0 for name in again.counts if not name.endswith("_unchanged")
    }
    assert again.counts["claims_unchanged"] == 1000
    assert Claim.history.count() + Policy.history.count() + CustomerProfile.history.count() == history_rows
    assert Claim.objects.count() == 1000
    assert ClaimEvent.objects.filter(kind="imported").count() == 1000


# --- Our own export formats: customers, then policies, then claims ----------------------------------------------


def test_customers_policies_and_claims_in_three_files(actor, products, tmp_path):
    customers = write(
        tmp_path,
        "customers.csv",
        f"{CUSTOMER_HEADER}\n"
        "C-1,Ann,Archer,ann@example.com,0123,1980-02-03,F,1 High St,Leeds,LS1 1AA,West Yorkshire,GB,GB00BANK1,\n"
        "C-2,Ben,Baker,ben@example.com,0456,03/04/1975,male,2 Low St,York,YO1 1AA,North Yorkshire,,GB00BANK1,\n",
    )
    batch = run(actor, customers, "customers")
    assert (batch.status, batch.rows_loaded) == (BatchStatus.DONE, 2)
    ann = CustomerProfile.objects.select_related("user").get(external_reference="C-1")
    assert (ann.user.first_name, ann.user.email, ann.sex, ann.bank_account) == (
        "Ann",
        "ann@example.com",
        "F",
        "GB00BANK1",
    )
    assert not ann.user.has_usable_password()
    assert CustomerProfile.objects.get(external_reference="C-2").date_of_birth.isoformat() == "1975-04-03"

    policies = write(
        tmp_path,
        "policies.csv",
        f"{POLICY_HEADER}\n"
        'LEG-1,auto-comprehensive,C-1,,2024-01-01,2025-01-01,"1,234.50",GBP,EXPIRED,\n'
        "LEG-2,home-standard,C-2,,2025-06-01,,£880,GBP,,\n",
    )
    batch = run(actor, policies, "policies")
    assert (batch.status, batch.rows_loaded) == (BatchStatus.DONE, 2), batch.reject_sample
    first = Policy.objects.get(number="LEG-1")
    assert (first.holder, first.premium, first.status) == (ann.user, Decimal("1234.50"), "expired")
    second = Policy.objects.get(number="LEG-2")
    assert second.expiry_date.isoformat() == "2026-06-01"  # the product's term when the export gives no expiry

    claims = write(
        tmp_path,
        "claims.csv",
        f"{CLAIM_HEADER}\n"
        'LC-1,LEG-1,2024-03-04 22:15,2024-03-20 09:00,collision,Leeds,Rear-ended,"$2,400.00",GBP,N,0,closed,Y\n'
        "LC-2,LEG-2,2025-07-01,,water_damage,York,Burst pipe,900,GBP,Y,1,,\n",
    )
    batch = run(actor, claims, "claims")
    assert (batch.status, batch.rows_loaded) == (BatchStatus.DONE, 2), batch.reject_sample
    claim = Claim.objects.get(number="LC-1")
    assert (claim.policy, claim.claimant, claim.amount_claimed) == (first, ann.user, Decimal("2400.00"))
    assert claim.reported_at.isoformat() == "2024-03-20T09:00:00+00:00"
    assert claim.investigation_outcome == InvestigationOutcome.CONFIRMED_FRAUD
    assert Claim.objects.get(number="LC-2").reported_at == Claim.objects.get(number="LC-2").incident_at


def test_a_changed_row_updates_only_its_record_with_history(actor, products, tmp_path):
    path = write(
        tmp_path, "c.csv", f"{CUSTOMER_HEADER}\nC-1,Ann,Archer,,,,,,Leeds,,,,,\nC-2,Ben,Baker,,,,,,York,,,,,\n"
    )
    run(actor, path, "customers")
    path.write_text(f"{CUSTOMER_HEADER}\nC-1,Ann,Archer,,,,,,Bradford,,,,,\nC-2,Ben,Baker,,,,,,York,,,,,\n")
    batch = run(actor, path, "customers")
    assert batch.counts["customers_updated"] == 1
    assert batch.counts["customers_unchanged"] == 1
    change = CustomerProfile.history.get(external_reference="C-1", history_type="~")
    assert (change.city, change.history_change_reason) == ("Bradford", batch.change_reason)


# --- Bad input -------------------------------------------------------------------------------------------------


BAD_CLAIMS = (
    "\ufeff"  # a byte-order mark
    f"{CLAIM_HEADER}\n"
    'LC-1,LEG-1,2024-03-04 22:15,,collision,"Leeds, West Yorkshire","Said ""ouch""",100,GBP,N,0,,\n'  # row 2: fine
    "\n"  # row 3: blank, skipped
    "LC-2,LEG-1,04.03.2024,,collision,Leeds,x,100,GBP,N,0,,\n"  # row 4: a date in another format
    "LC-3,LEG-1,2024-03-04 10:00,,collision,Leeds,x,100,GBP,N\n"  # row 5: missing columns
    "LC-4,LEG-1,2024-03-04 10:00,,collision,Leeds,x,100,GBP,N,0,,,extra\n"  # row 6: an extra column
    "LC-1,LEG-1,2024-03-05 10:00,,collision,Leeds,again,200,GBP,N,0,,\n"  # row 7: LC-1 again
    "LC-5,NOPE,2024-03-04 10:00,,collision,Leeds,x,100,GBP,N,0,,\n"  # row 8: no such policy
    "LC-6,LEG-1,2024-03-04 10:00,,meteor,Leeds,x,-5,GBP,N,0,,\n"  # row 9: two values the models refuse
    "LC-7,LEG-1,2024-03-04 10:00,,theft,Café Müller,x,1 234,GBP,Y,0,,N\n"  # row 10: fine (non-ASCII)
    'LC-8,LEG-1,2024-03-04 10:00,,theft,"Leeds'  # row 11: truncated last line, no final newline
)


@pytest.fixture
def legacy_policy(actor, products, tmp_path):
    run(actor, write(tmp_path, "c.csv", f"{CUSTOMER_HEADER}\nC-1,Ann,Archer,,,,,,,,,,,\n"), "customers")
    run(
        actor,
        write(tmp_path, "p.csv", f"{POLICY_HEADER}\nLEG-1,auto-comprehensive,C-1,,2024-01-01,,500,GBP,,\n"),
        "policies",
    )
    return Policy.objects.get(number="LEG-1")


@pytest.mark.parametrize(("encoding", "newline"), [("utf-8", "\r\n"), ("cp1252", "\n"), ("utf-8", "\n")])
def test_a_file_full_of_bad_cases_gives_the_expected_reject_report(actor, legacy_policy, tmp_path, encoding, newline):
    text = BAD_CLAIMS if encoding == "utf-8" else BAD_CLAIMS.lstrip("\ufeff")
    path = write(tmp_path, "bad.csv", text, encoding=encoding, newline=newline)

    batch = run(actor, path, "claims", reject_threshold=1)

    assert sorted(Claim.objects.values_list("number", flat=True)) == ["LC-1", "LC-7"]
    assert Claim.objects.get(number="LC-1").description == 'Said "ouch"'
    assert Claim.objects.get(number="LC-1").incident_place == "Leeds, West Yorkshire"
    assert Claim.objects.get(number="LC-7").incident_place == "Café Müller"
    assert Claim.objects.get(number="LC-7").amount_claimed == Decimal("1234")
    report = {int(row["row"]): row for row in rejects_of(batch)}
    assert sorted(report) == [4, 5, 6, 7, 8, 9, 11]
    assert report[4]["column"] == "incident_at"
    assert "04.03.2024" in report[4]["reason"]
    assert "has 10 values" in report[5]["reason"]
    assert "header has 13" in report[5]["reason"]
    assert "has 14 values" in report[6]["reason"]
    assert report[7]["column"] == "claim_number"
    assert "row 2" in report[7]["reason"]
    assert report[8]["column"] == "policy_number"
    assert "NOPE" in report[8]["reason"]
    assert report[9]["column"] == "loss_type; amount"
    assert "'meteor' is not one of" in report[9]["reason"]
    assert "amount: must be at least 0.01, not -5" in report[9]["reason"]
    assert report[11]["reason"]
    assert report[9]["claim_number"] == "LC-6"  # the rejected row's own values follow, ready to fix and re-send
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (9, 2, 7)
    assert batch.status == BatchStatus.DONE


def test_over_the_threshold_the_command_fails_but_keeps_what_loaded(actor, legacy_policy, tmp_path):
    path = write(tmp_path, "bad.csv", BAD_CLAIMS)
    out = io.StringIO()
    with pytest.raises(CommandError, match="7 of 9 rows rejected"):
        call_command("import_data", str(path), "--mapping", "claims", "--max-rejects", "0.1", stdout=out)
    assert "row 4, incident_at" in out.getvalue()
    assert Claim.objects.count() == 2
    assert ImportBatch.objects.get(mapping_name="claims").status == BatchStatus.REJECTED


def test_dry_run_counts_but_writes_nothing(actor, legacy_policy, tmp_path):
    path = write(tmp_path, "bad.csv", BAD_CLAIMS)
    out = io.StringIO()
    call_command("import_data", str(path), "--mapping", "claims", "--dry-run", "--max-rejects", "1", stdout=out)
    assert "dry run" in out.getvalue()
    assert not Claim.objects.exists()
    batch = ImportBatch.objects.get(mapping_name="claims")
    assert batch.dry_run
    assert batch.counts["claims_created"] == 2


def test_whole_file_problems_fail_before_any_row(actor, products, tmp_path):
    with pytest.raises(ServiceError, match="claim_number"):
        run(actor, write(tmp_path, "h.csv", "policy_number,amount\nLEG-1,5\n"), "claims")
    with pytest.raises(ServiceError, match="empty"):
        run(actor, write(tmp_path, "e.csv", ""), "claims")
    with pytest.raises(ServiceError, match="No mapping"):
        run(actor, write(tmp_path, "x.csv", "a\n1\n"), "nonexistent")
    assert ImportBatch.objects.filter(status=BatchStatus.FAILED).count() == 2
    with pytest.raises(CommandError, match="No file"):
        call_command("import_data", str(tmp_path / "missing.csv"), "--mapping", "claims")


def test_a_row_only_the_database_refuses_is_found_and_the_rest_load(actor, products, tmp_path):
    # "A B" and "A-B" make the same login name. In one batch the loader sees it; across batches only the database
    # does (the second profile would share the first one's user), and the batch is split until the row is found.
    rows = [f"C-{i},N{i}" for i in range(4)] + ["A B,x"] + [f"C-{i},N{i}" for i in range(4, 8)] + ["A-B,y"]
    path = write(tmp_path, "c.csv", f"{CUSTOMER_HEADER}\n" + "".join(f"{row},,,,,,,,,,,,\n" for row in rows))
    batch = run(actor, path, "customers", batch_size=5, reject_threshold=1)
    assert batch.rows_loaded == 9
    (reject,) = rejects_of(batch)
    assert reject["row"] == "11"
    assert "refused by the database" in reject["reason"]
    assert CustomerProfile.objects.count() == 9

    CustomerProfile.objects.all().delete()
    batch = run(actor, path, "customers", batch_size=100, reject_threshold=1)
    (reject,) = rejects_of(batch)
    assert reject["row"] == "11"
    assert "same login name as 'A B' in row 6" in reject["reason"]


def test_excel_files_import_like_csv(actor, products, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(CUSTOMER_HEADER.split(","))
    sheet.append(["C-9", "Xena", "Xu", None, None, None, "F", None, "Hull", None, None, "GB", None, None])
    path = tmp_path / "customers.xlsx"
    workbook.save(path)
    batch = run(actor, path, "customers")
    assert batch.rows_loaded == 1
    assert CustomerProfile.objects.get(external_reference="C-9").city == "Hull"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_batches_are_written_by_a_second_thread(tmp_path):
    """The overlapped path (a writer thread on its own connection) loads and rejects exactly like the plain one."""
    actor = system_account("command")
    create_demo_products()
    rows = [f"C-{i},N{i}" for i in range(25)] + ["C-3,again"] + [f"C-{i},N{i}" for i in range(25, 40)]
    path = write(tmp_path, "c.csv", f"{CUSTOMER_HEADER}\n" + "".join(f"{row},,,,,,,,,,,,\n" for row in rows))
    batch = run(actor, path, "customers", batch_size=7, reject_threshold=1)
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (41, 40, 1)
    assert batch.reject_sample == [
        {
            "row": 27,
            "column": "customer_number",
            "reason": "'C-3' already appears in row 5; each customer once per file",
        }
    ]
    assert CustomerProfile.objects.filter(external_reference__startswith="C-").count() == 40
    assert CustomerProfile.history.filter(history_change_reason=batch.change_reason).count() == 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_claims_are_written_by_two_writers_with_the_same_outcome(tmp_path):
    """Claims touch only their own rows, so two batches are written at once; rejects, events and history are
    exactly those of one writer, and a second run of the file changes nothing."""
    actor = system_account("command")
    create_demo_products()
    run(actor, write(tmp_path, "c.csv", f"{CUSTOMER_HEADER}\nC-1,Ann,Archer,,,,,,,,,,,\n"), "customers")
    run(
        actor,
        write(tmp_path, "p.csv", f"{POLICY_HEADER}\nLEG-1,auto-comprehensive,C-1,,2024-01-01,,500,GBP,,\n"),
        "policies",
    )
    lines = [f"LC-{i},LEG-1,2024-03-04 10:00,,collision,Leeds,x,{100 + i},GBP,N,0,," for i in range(30)]
    lines[12] = "LC-3,LEG-1,2024-03-04 10:00,,collision,Leeds,again,5,GBP,N,0,,"  # row 14: LC-3 of an earlier batch
    lines[20] = "LC-20,NOPE,2024-03-04 10:00,,collision,Leeds,x,5,GBP,N,0,,"  # row 22: no such policy
    path = write(tmp_path, "claims.csv", f"{CLAIM_HEADER}\n" + "".join(f"{line}\n" for line in lines))

    batch = run(actor, path, "claims", batch_size=4, reject_threshold=1)

    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (30, 28, 2)
    assert [(r["row"], r["column"]) for r in batch.reject_sample] == [(14, "claim_number"), (22, "policy_number")]
    assert "already appears in row 5" in batch.reject_sample[0]["reason"]
    claims = Claim.objects.filter(number__startswith="LC-")
    assert claims.count() == 28
    assert Claim.history.filter(history_change_reason=batch.change_reason, history_user=actor).count() == 28
    events = ClaimEvent.objects.filter(kind="imported", claim__in=claims)
    assert events.count() == 28
    assert ClaimEvent.history.filter(history_change_reason=batch.change_reason).count() == 28
    assert {e.message for e in events} == {f"Imported from claims.csv ({batch.change_reason})."}

    again = run(actor, path, "claims", batch_size=4, reject_threshold=1)
    assert (again.rows_loaded, again.counts["claims_unchanged"], again.counts["claims_created"]) == (28, 28, 0)
    assert not Claim.history.filter(history_change_reason=again.change_reason).exists()
    assert ClaimEvent.objects.filter(kind="imported").count() == 28


def test_a_reject_copy_into_a_missing_folder_is_refused_before_the_run(actor, legacy_policy, tmp_path):
    path = write(tmp_path, "bad.csv", BAD_CLAIMS)
    with pytest.raises(CommandError, match="existing folder"):
        call_command("import_data", str(path), "--mapping", "claims", "--rejects", str(tmp_path / "no" / "r.csv"))
    assert not ImportBatch.objects.filter(mapping_name="claims").exists()
