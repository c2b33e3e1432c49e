"""Who is asking: the actor every service call names, and the words permissions are made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

__all__ = ["Actor", "ActorKind", "JobScope", "Level", "Role"]


class Role(StrEnum):
    """A user's role on the whole server.

    ``viewer`` reads what they are allowed to; ``member`` also creates experiments, models,
    endpoints and jobs (becoming their owner); ``admin`` may do anything, accounts included.
    """

    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"


class Level(IntEnum):
    """A permission level on one resource; each includes the ones below it."""

    NONE = 0
    READ = 1  # see it, its runs, versions, logs
    EDIT = 2  # change it: log to it, register versions, move aliases, update traffic
    MANAGE = 3  # delete it, grant others access to it

    @classmethod
    def parse(cls, value: str) -> Level:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(
                f"unknown permission level {value!r}: use none, read, edit or manage"
            ) from None

    @property
    def label(self) -> str:
        return self.name.lower()


class ActorKind(StrEnum):
    USER = "user"  # a person or robot account, by token, password or browser session
    JOB = "job"  # a training job or transform, by the token minted for it
    ANONYMOUS = "anonymous"  # no credentials, on a server where sign-in is not required
    LOCAL = "local"  # the embedded server inside this process: the owner of its files
    SYSTEM = "system"  # the server's own background work (scheduler, supervisor)


@dataclass(frozen=True, slots=True)
class JobScope:
    """What a job's token may change: its own run and runs nested under it, and versions of
    the model it registers into. It reads what the job's submitter may read.

    ``runner`` marks the token of the job's runner process, which alone may also fetch the
    job's launch description, report its status and append to its log. The job's own code
    gets a token without it: a script cannot declare its job finished.
    """

    job_id: str
    job_name: str
    run_id: str | None
    register_as: str | None = None
    runner: bool = False


@dataclass(frozen=True, slots=True)
class Actor:
    """The one who makes a request, as the auth layer established it.

    Attributes:
        kind: How they were identified.
        name: The account name recorded as creator, approver and in the event log
            (``anonymous``, ``local:<os user>`` and ``system`` for the other kinds).
        user_id: The account behind the request (a job's submitter), if any.
        role: The account's server-wide role; anonymous, local and system actors are admins
            (they only exist where the server requires no sign-in, or inside it).
        read_only: A token scoped to reading.
        job: Set for a job's token.
        source: The client's address, for the event log.
        token_id: The token used, if any.
        credential: Which credential signed the request in, as the event log names it
            (``token <id>``, ``access key <id>``, ``password``, ``browser session``); empty
            for actors no credential made.
    """

    kind: ActorKind
    name: str
    role: Role
    user_id: int | None = None
    read_only: bool = False
    job: JobScope | None = None
    source: str = ""
    token_id: str | None = field(default=None, compare=False)
    credential: str = field(default="", compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN and self.job is None and not self.read_only

    @property
    def is_person(self) -> bool:
        """An account (not anonymous, local or system): ownership and separation apply."""
        return self.kind in (ActorKind.USER, ActorKind.JOB) and self.user_id is not None

    @property
    def label(self) -> str:
        """How the event log names this actor (a job's token: ``alice (job wine-xgb)``)."""
        if self.job is not None:
            return f"{self.name} (job {self.job.job_name})"
        return self.name

    def at(self, source: str) -> Actor:
        """The same actor, seen from ``source``."""
        return Actor(
            self.kind,
            self.name,
            self.role,
            self.user_id,
            self.read_only,
            self.job,
            source,
            self.token_id,
            self.credential,
        )

    @classmethod
    def anonymous(cls, source: str = "") -> Actor:
        return cls(ActorKind.ANONYMOUS, "anonymous", Role.ADMIN, source=source)

    @classmethod
    def local(cls, user: str) -> Actor:
        return cls(ActorKind.LOCAL, f"local:{user}", Role.ADMIN, source="local")

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, what, Role.ADMIN, source="server")
