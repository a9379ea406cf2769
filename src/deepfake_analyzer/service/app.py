"""The FastAPI app: REST API under /api/v1, the upload and job pages, JSON errors."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from string import Template
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from deepfake_analyzer import __version__
from deepfake_analyzer.errors import AnalyzerError, UnsupportedMediaError, UsageError
from deepfake_analyzer.options import option_specs
from deepfake_analyzer.service.core import AnalysisService
from deepfake_analyzer.service.docs import render_docs
from deepfake_analyzer.service.jobs import Job
from deepfake_analyzer.service.settings import JOB_OPTION_NAMES, ServiceSettings
from deepfake_analyzer.service.uploads import (
    BadUploadError,
    UploadStorageError,
    UploadTooLargeError,
    check_content_length,
    receive_upload,
)

log = logging.getLogger("deepfake_analyzer.service")

API_PREFIX = "/api/v1"
STATIC_PACKAGE = "deepfake_analyzer.service"


class ErrorOut(BaseModel):
    error: str = Field(description="a short machine-readable code, e.g. unsupported_media")
    message: str = Field(description="what went wrong and how to fix it")


class ProgressOut(BaseModel):
    stage: str = Field(description="the pipeline stage running now (decode, classify, ...)")
    done: int
    total: int = Field(description="0 when the stage's size is unknown")


class VerdictOut(BaseModel):
    label: str = Field(description="real, suspicious, fake or no-face")
    score: float | None


class LinksOut(BaseModel):
    self: str
    page: str
    report_html: str | None = None
    report_csv: str | None = None
    report_json: str | None = None


class AnalysisOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    filename: str = Field(description="the uploaded file's name, for display only")
    kind: str = Field(description="video or image, from the file's content")
    size_bytes: int
    options: dict[str, Any] = Field(description="per-upload options (the rest are the server's)")
    created_utc: str
    started_utc: str | None
    finished_utc: str | None
    attempts: int
    progress: ProgressOut
    verdict: VerdictOut | None = None
    error: str | None = None
    links: LinksOut
    report: dict[str, Any] | None = Field(
        default=None, description="the JSON report (same as report.json) once done"
    )


class AnalysisListOut(BaseModel):
    analyses: list[AnalysisOut]


HealthStatus = Literal["ok", "starting", "error"]


class HealthOut(BaseModel):
    status: HealthStatus
    version: str
    workers: int
    workers_ready: int
    workers_busy: int
    jobs: dict[str, int]
    message: str | None = None


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing or wrong API token"},
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    404: {"model": ErrorOut, "description": "no such analysis"},
}

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the video or image (its content decides the type)",
                        },
                        **{
                            name: {"type": "string", "description": f"optional {name} override"}
                            for name in JOB_OPTION_NAMES
                        },
                    },
                }
            }
        },
    }
}


def create_app(settings: ServiceSettings) -> FastAPI:
    """Build the app; the worker pool starts and stops with the app's lifespan."""
    service = AnalysisService(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="deepfake-analyzer",
        version=__version__,
        description=(
            "Upload a video or image; get a verdict, a per-person timeline and reports. "
            "When the server has a token, send it as `Authorization: Bearer TOKEN` "
            "(or `X-API-Token: TOKEN`) on every /api call."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    _install_error_handlers(app)
    app.middleware("http")(_security_headers)

    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(_token_checker(settings))])

    @router.get("/health", response_model=HealthOut, responses=AUTH_RESPONSES)
    def health() -> HealthOut:
        """Whether the workers are up, and how many jobs are in each state."""
        pool, counts = service.health()
        status: HealthStatus = "error" if pool.error else ("ok" if pool.ready else "starting")
        return HealthOut(
            status=status,
            version=__version__,
            workers=pool.workers,
            workers_ready=pool.ready,
            workers_busy=pool.busy,
            jobs=counts,
            message=pool.error,
        )

    @router.post(
        "/analyses",
        status_code=202,
        response_model=AnalysisOut,
        openapi_extra=UPLOAD_BODY,
        responses={
            **AUTH_RESPONSES,
            400: {"model": ErrorOut, "description": "not a multipart upload with a file"},
            413: {"model": ErrorOut, "description": "larger than the upload limit"},
            415: {"model": ErrorOut, "description": "the content is not a supported video/image"},
            422: {"model": ErrorOut, "description": "an option is unknown or out of range"},
            507: {"model": ErrorOut, "description": "the server cannot store the upload now"},
        },
    )
    async def create_analysis(request: Request) -> JSONResponse:
        """Upload a file (multipart field `file`, plus optional options) and queue it."""
        check_content_length(request.headers.get("content-length"), settings.max_upload_bytes)
        job_id, stem = service.new_upload_stem()
        try:
            upload = await receive_upload(
                request.headers.get("content-type"),
                request.stream(),
                stem,
                settings.max_upload_bytes,
            )
        except ClientDisconnect:
            log.info("an upload was abandoned by its client; nothing kept")
            return JSONResponse({}, status_code=400)  # nobody is listening any more
        job = service.submit(job_id, upload)
        body = _analysis_out(job, None).model_dump(mode="json")
        return JSONResponse(body, status_code=202, headers={"Location": body["links"]["self"]})

    @router.get(
        "/analyses",
        response_model=AnalysisListOut,
        responses={**AUTH_RESPONSES, 422: {"model": ErrorOut, "description": "bad query"}},
    )
    def list_analyses(
        limit: int = Query(50, ge=1, le=500),
        status: Literal["queued", "running", "done", "failed"] | None = None,
    ) -> AnalysisListOut:
        """Recent analyses, newest first (without their reports)."""
        return AnalysisListOut(
            analyses=[_analysis_out(job, None) for job in service.list_recent(limit, status)]
        )

    @router.get("/analyses/{analysis_id}", response_model=AnalysisOut, responses=ERROR_RESPONSES)
    def get_analysis(analysis_id: str) -> AnalysisOut:
        """Status and progress; the JSON report once `status` is `done`."""
        job = _job_or_404(service, analysis_id)
        report = None
        if job.status == "done":
            path = service.report_path(job, "json")
            if path.is_file():
                report = json.loads(path.read_text(encoding="utf-8"))
        return _analysis_out(job, report)

    def report_route(fmt: str, media_type: str) -> None:
        @router.get(
            f"/analyses/{{analysis_id}}/report.{fmt}",
            response_class=FileResponse,
            responses={
                **ERROR_RESPONSES,
                409: {"model": ErrorOut, "description": "not done yet"},
                200: {"content": {media_type: {}}},
            },
            name=f"report_{fmt}",
            summary=f"The {fmt.upper()} report",
        )
        def report_file(analysis_id: str) -> FileResponse:
            job = _job_or_404(service, analysis_id)
            path = service.report_path(job, fmt)
            if job.status != "done" or not path.is_file():
                raise HTTPException(
                    409,
                    f"analysis {job.id} is {job.status}, so it has no report"
                    + ("" if job.finished else "; poll it until status is done"),
                )
            stem = job.filename.rsplit(".", 1)[0] or "report"
            return FileResponse(
                path,
                media_type=media_type,
                filename=f"{stem}.{fmt}" if fmt != "html" else None,
                headers={"Cache-Control": "no-store"},
            )

    report_route("html", "text/html; charset=utf-8")
    report_route("csv", "text/csv; charset=utf-8")
    report_route("json", "application/json")

    @router.delete(
        "/analyses/{analysis_id}",
        status_code=204,
        response_class=Response,
        responses=ERROR_RESPONSES,
    )
    def delete_analysis(analysis_id: str) -> Response:
        """Delete an analysis and its files (a running one's result is discarded)."""
        if not service.delete(analysis_id):
            raise HTTPException(404, f"no analysis {analysis_id!r}")
        return Response(status_code=204)

    app.include_router(router)
    _install_pages(app)
    return app


PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
"""The pages load only their own assets; inline styles are for the report shown from a blob."""
REPORT_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
)
"""A report is inert: no scripts, no requests, its own origin even when opened directly."""


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.url.path.endswith("/report.html"):
        response.headers["Content-Security-Policy"] = REPORT_CSP
    elif response.headers.get("content-type", "").startswith("text/html"):
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    return response


def _token_checker(settings: ServiceSettings) -> Any:
    expected = settings.token

    def check_token(request: Request) -> None:
        if expected is None:
            return
        header = request.headers.get("authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else ""
        given = given or request.headers.get("x-api-token", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(
                401,
                "this server needs an API token: send 'Authorization: Bearer TOKEN'"
                if not given
                else "wrong API token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check_token


def _job_or_404(service: AnalysisService, analysis_id: str) -> Job:
    job = service.get(analysis_id)
    if job is None:
        raise HTTPException(404, f"no analysis {analysis_id!r} (deleted, expired or never made)")
    return job


def _analysis_out(job: Job, report: dict[str, Any] | None) -> AnalysisOut:
    base = f"{API_PREFIX}/analyses/{job.id}"
    done = job.status == "done"
    return AnalysisOut(
        id=job.id,
        status=job.status,
        filename=job.filename,
        kind=job.media_kind,
        size_bytes=job.size_bytes,
        options=job.options,
        created_utc=job.created_utc,
        started_utc=job.started_utc,
        finished_utc=job.finished_utc,
        attempts=job.attempts,
        progress=ProgressOut(stage=job.stage, done=job.done, total=job.total),
        verdict=VerdictOut(label=job.verdict, score=job.score) if job.verdict else None,
        error=job.error,
        links=LinksOut(
            self=base,
            page=f"/analyses/{job.id}",
            report_html=f"{base}/report.html" if done else None,
            report_csv=f"{base}/report.csv" if done else None,
            report_json=f"{base}/report.json" if done else None,
        ),
        report=report,
    )


_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "not_ready",
    413: "too_large",
    415: "unsupported_media",
    422: "invalid_option",
    500: "internal_error",
    507: "insufficient_storage",
}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorOut(error=_STATUS_CODES.get(status, "error"), message=message)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def client_message(exc: AnalyzerError) -> str:
    """The error as an HTTP client reads it. Form fields are named after the options they set
    (`JOB_OPTION_NAMES`), so an option the message names keeps its name: `min_confidence`."""
    return exc.message_for(_form_field)


def _form_field(option: str) -> str:
    return option


def status_for(exc: AnalyzerError) -> int:
    """The HTTP status of an analyzer error (the one place errors become statuses)."""
    if isinstance(exc, UploadTooLargeError):
        return 413
    if isinstance(exc, UnsupportedMediaError):
        return 415
    if isinstance(exc, BadUploadError):
        return 400
    if isinstance(exc, UploadStorageError):
        return 507
    if isinstance(exc, UsageError):
        return 422
    return 400


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route serves on this request's path (for a 405's `Allow`)."""
    from starlette.routing import Match

    allowed = []
    for method in _HTTP_METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AnalyzerError)
    async def analyzer_error(request: Request, exc: AnalyzerError) -> JSONResponse:
        status = status_for(exc)
        headers = {"Connection": "close"} if status in (413, 415) else None
        return _error(status, client_message(exc), headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names only the first route's methods
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(app, request))}
        return _error(exc.status_code, str(exc.detail), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [
            f"{'.'.join(str(p) for p in error.get('loc', ()) if p not in ('query', 'path'))}: "
            f"{error.get('msg', 'invalid')}"
            for error in exc.errors()
        ]
        return _error(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal server error; the server log has the details")


_NAV_INDEX = '<a href="/docs">API</a>'
_NAV_JOB = '<a href="/">New upload</a> <a href="/docs">API</a>'


def _install_pages(app: FastAPI) -> None:
    static = resources.files(STATIC_PACKAGE) / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    layout = Template((static / "layout.html").read_text(encoding="utf-8"))
    bounds = {
        f"{name}_{end}": f"{value:g}"
        for name in ("fps", "max_frames")
        for end, value in zip(("min", "max"), option_specs()[name].bounds or (), strict=True)
    }

    def page(name: str, title: str, nav: str) -> HTMLResponse:
        """`layout.html` (head, header, token form) around the page's own `<main>` content,
        with the bounds of the options its form fields set."""
        main = Template((static / name).read_text(encoding="utf-8")).substitute(bounds)
        page_name = name.removesuffix(".html")
        return HTMLResponse(layout.substitute(title=title, page=page_name, nav=nav, main=main))

    @app.get("/", include_in_schema=False)
    def index_page() -> HTMLResponse:
        return page("index.html", "deepfake-analyzer", _NAV_INDEX)

    @app.get("/analyses/{analysis_id}", include_in_schema=False)
    def job_page(analysis_id: str) -> HTMLResponse:
        return page("job.html", "Analysis - deepfake-analyzer", _NAV_JOB)

    @app.get("/docs", include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(render_docs(app.openapi()))
