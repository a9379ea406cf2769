"""`deepfake-analyzer serve`: run the upload web page and REST API (FastAPI on uvicorn)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from deepfake_analyzer import paths
from deepfake_analyzer.cli.arguments import add_option_argument, bounded
from deepfake_analyzer.errors import ModelError, ModelNotInstalledError, UsageError
from deepfake_analyzer.extras import require_extra
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.service.settings import (
    DEFAULT_DATA_DIR,
    SERVICE_BOUNDS,
    TOKEN_ENV,
    ServiceSettings,
    token_from_env,
)

EPILOG = f"""\
environment:
  {TOKEN_ENV}  API token, used when --token is not given. When a token is set,
                           every /api call must send 'Authorization: Bearer TOKEN'
                           (the web page asks for it once per browser session).

The server binds to 127.0.0.1 by default. To serve other machines, pass --host 0.0.0.0
together with a token, and put TLS in front of it. API reference: http://HOST:PORT/docs
"""


def _add_setting(
    parser: argparse.ArgumentParser,
    defaults: ServiceSettings,
    flag: str,
    name: str,
    help: str,
    metavar: str | None = "N",
) -> None:
    """The flag of the numeric `ServiceSettings` field `name`: its bounds and its default."""
    parser.add_argument(
        flag,
        dest=name,
        metavar=metavar,
        type=bounded(int, name, SERVICE_BOUNDS),
        default=getattr(defaults, name),
        help=help,
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    defaults = ServiceSettings(data_dir=DEFAULT_DATA_DIR)
    parser = subparsers.add_parser(
        "serve",
        help="run the upload web page and REST API",
        description="Serve a web page and a REST API that analyze uploaded clips in a\n"
        "bounded pool of worker processes; jobs persist in SQLite under --data-dir.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default=defaults.host, help="address to bind (default: %(default)s)"
    )
    _add_setting(parser, defaults, "--port", "port", "(default: %(default)s)", metavar=None)
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=str(DEFAULT_DATA_DIR),
        help="where jobs, uploads and reports are kept (default: %(default)s)",
    )
    _add_setting(
        parser,
        defaults,
        "--workers",
        "workers",
        "analyses run at once, each worker process loads the model once (default: %(default)s)",
    )
    parser.add_argument(
        "--token", default=None, help=f"API token required on every API call (or set {TOKEN_ENV})"
    )
    _add_setting(
        parser,
        defaults,
        "--max-upload-mb",
        "max_upload_mb",
        "larger uploads get HTTP 413 (default: %(default)s)",
        metavar="MB",
    )
    _add_setting(
        parser,
        defaults,
        "--keep",
        "keep_jobs",
        "finished analyses kept; older ones are deleted (default: %(default)s)",
    )
    _add_setting(
        parser,
        defaults,
        "--max-job-memory-mb",
        "max_job_memory_mb",
        "a worker using more memory than this (its model included) is stopped and its "
        "job fails (default: %(default)s)",
        metavar="MB",
    )
    model = parser.add_argument_group("model (the same for every upload)")
    model.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help="a .keras/.h5 model or a .spec.json (default: the shipped model)",
    )
    model.add_argument(
        "--trust-model", action="store_true", help="allow a model file that contains code"
    )
    add_option_argument(model, "detector")
    model.add_argument(
        "--classifier-factory",
        default=None,
        metavar="MODULE:CALLABLE",
        help="build the classifier by calling this instead of loading --model "
        "(plugins; the tests use a fake)",
    )
    model.add_argument(
        "--detector-factory",
        default=None,
        metavar="MODULE:CALLABLE",
        help="build the face detector by calling this instead of --detector",
    )
    parser.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
        help="server log verbosity (default: %(default)s)",
    )
    parser.set_defaults(handler=run_serve)


def settings_from_args(args: argparse.Namespace) -> ServiceSettings:
    base = AnalyzeOptions(
        model_path=args.model, trust_model=args.trust_model, detector=args.detector
    )
    return ServiceSettings(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        workers=args.workers,
        token=args.token if args.token is not None else token_from_env(),
        max_upload_mb=args.max_upload_mb,
        keep_jobs=args.keep_jobs,
        max_job_memory_mb=args.max_job_memory_mb,
        base_options=base,
        classifier_factory=args.classifier_factory,
        detector_factory=args.detector_factory,
    )


def check_model_available(settings: ServiceSettings) -> None:
    """Fail before serving when no classifier can be loaded (workers load it fully later)."""
    if settings.classifier_factory is not None:
        return
    model = settings.base_options.model_path
    if model is None and not paths.DEFAULT_CLASSIFIER_SPEC.is_file():
        raise ModelNotInstalledError(
            "no default model is installed yet; pass --model PATH to serve your own Keras model"
        )
    if model is not None and not Path(model).is_file():
        raise ModelError("does not exist: check the --model path", model)


def check_port_free(host: str, port: int) -> None:
    """UsageError (exit 2) when `host:port` cannot be listened on (busy, not ours, bad host),
    instead of uvicorn's raw log line and its exit status 3 (ours means "--fail-on reached")."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot listen on {host}:{port} ({reason}): choose another --port or --host"
        ) from None


def run_serve(args: argparse.Namespace) -> int:
    require_extra("serve", "serve")
    settings = settings_from_args(args)
    check_model_available(settings)
    check_port_free(settings.host, settings.port)
    import uvicorn

    from deepfake_analyzer.service.app import create_app

    if not settings.is_loopback and settings.token is None:
        print(
            f"deepfake-analyzer: warning: serving {settings.host} without a token: anyone who "
            f"can reach it can upload and read reports; pass --token or set {TOKEN_ENV}",
            file=sys.stderr,
        )
    if not logging.getLogger("deepfake_analyzer").handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logging.getLogger("deepfake_analyzer").addHandler(handler)
    logging.getLogger("deepfake_analyzer").setLevel(args.log_level.upper())
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    return 0
