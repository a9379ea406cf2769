"""The service object without its workers: submitting, retention and deletion of files."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.service.core import AnalysisService
from deepfake_analyzer.service.settings import ServiceSettings
from deepfake_analyzer.service.uploads import StoredUpload


@pytest.fixture
def service(tmp_path: Path) -> AnalysisService:
    made = AnalysisService(ServiceSettings(data_dir=tmp_path / "data", keep_jobs=2))
    yield made
    made.close()


def _submit(service: AnalysisService, **fields: str) -> str:
    job_id, stem = service.new_upload_stem()
    path = stem.with_suffix(".jpg")
    path.write_bytes(b"\xff\xd8\xff")
    upload = StoredUpload(path=path, filename="a.jpg", kind="image", size_bytes=3, fields=fields)
    return service.submit(job_id, upload).id


def _finish(service: AnalysisService, job_id: str) -> Path:
    assert service.store.claim_next().id == job_id
    service.store.finish(job_id, "real", 0.1)
    job_dir = service.settings.jobs_dir / job_id
    job_dir.mkdir()
    (job_dir / "report.json").write_text("{}")
    return job_dir


def test_retention_keeps_the_newest_finished_jobs_and_their_files(
    service: AnalysisService,
) -> None:
    ids = [_submit(service) for _ in range(4)]
    dirs = [_finish(service, job_id) for job_id in ids[:3]]
    service.prune()
    assert service.get(ids[0]) is None
    assert not dirs[0].exists()
    assert not list(service.settings.uploads_dir.glob(f"{ids[0]}*"))
    assert all(service.get(job_id) is not None for job_id in ids[1:])
    assert dirs[1].exists() and dirs[2].exists()


def test_delete_removes_the_upload_and_reports(service: AnalysisService) -> None:
    job_id = _submit(service)
    job_dir = _finish(service, job_id)
    assert service.delete(job_id)
    assert not job_dir.exists()
    assert not list(service.settings.uploads_dir.iterdir())
    assert not service.delete(job_id)
    assert not service.delete("../../etc")


def test_bad_options_remove_the_upload(service: AnalysisService) -> None:
    with pytest.raises(UsageError):
        _submit(service, fps="-1")
    assert not list(service.settings.uploads_dir.iterdir())
    assert service.list_recent(10) == []


def test_an_unwritable_data_dir_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="writable data_dir"):
        AnalysisService(ServiceSettings(data_dir=blocker / "data"))


def test_one_server_per_data_dir(service: AnalysisService) -> None:
    with pytest.raises(UsageError, match="another deepfake-analyzer server is using"):
        AnalysisService(ServiceSettings(data_dir=service.settings.data_dir))
