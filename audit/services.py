"""The ID workflow: applications (新規発効届・失効届), issuance, revocation, suspension,
terminal enrolment, machine clients and the periodic grant review.

Every function authorises its actor first (a refusal is logged outside any transaction, so
it survives), then acts and logs in one transaction.
"""

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import access_log, context
from audit.models import (
    ApplicationKind,
    ApplicationState,
    ClientKind,
    FileDuty,
    GrantReview,
    IdApplication,
    IdentityState,
    MachineClient,
    Operator,
    RemovalRecord,
    Role,
    SubjectKind,
    Terminal,
)
from audit.permissions import permitted
from jukinet.codes import CodeError, validate_lg_code
from jukinet.errors import Conflict, InvalidInput, NotFound, PermissionRefused

TERMINAL_COOKIE_SALT = "jukinet.terminal"
ENROLMENT_CODE_TTL = dt.timedelta(minutes=30)
# Unambiguous characters for passwords read off a screen and typed once.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"  # noqa: S105
_DUTY_CODE = re.compile(r"^[56J]-[0-9A-Za-z]{1,10}$")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _authorize(actor: Operator, action: str, *, log_action: str, target: str = "") -> None:
    if not permitted(actor, action):
        access_log.log_refusal(action=log_action, target_code=target, detail=f"権限なし: {action}")
        raise PermissionRefused()


def _one_time_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))


def _new_totp_device(operator: Operator) -> TOTPDevice:
    TOTPDevice.objects.filter(user=operator).delete()
    return TOTPDevice.objects.create(user=operator, name="認証アプリ", confirmed=True)


def totp_secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(binascii.unhexlify(device.key)).decode()


@dataclass(frozen=True)
class IssuedOperator:
    """Shown once to the issuing administrator, to hand over sealed; never stored in clear."""

    operator: Operator
    one_time_password: str
    totp_secret: str
    totp_uri: str


@dataclass(frozen=True)
class IssuedTerminal:
    terminal: Terminal
    enrolment_code: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class IssuedClient:
    client: MachineClient
    token: str


# --- Particulars -------------------------------------------------------------------


def _clean_operator_particulars(data: dict) -> dict:
    errors = {}
    login_id = str(data.get("login_id", "")).strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{2,31}", login_id):
        errors["login_id"] = "ログインIDは半角英数字（._-を含む）3〜32文字で入力してください。"
    elif Operator.objects.filter(login_id=login_id).exists():
        errors["login_id"] = "このログインIDは既に使われています（失効したIDも再利用できません）。"
    staff_number = str(data.get("staff_number", "")).strip()
    if not re.fullmatch(r"[A-Za-z0-9-]{1,32}", staff_number):
        errors["staff_number"] = "職員番号は半角英数字32文字以内で入力してください。"
    elif Operator.objects.filter(staff_number=staff_number).exclude(state=IdentityState.REVOKED).exists():
        errors["staff_number"] = "この職員には有効なIDが既にあります（1人1ID）。"
    full_name = str(data.get("full_name", "")).strip()
    if not 1 <= len(full_name) <= 100:
        errors["full_name"] = "氏名を100文字以内で入力してください。"
    department = str(data.get("department", "")).strip()
    if not 1 <= len(department) <= 100:
        errors["department"] = "所属を100文字以内で入力してください。"
    roles = data.get("roles") or []
    if not isinstance(roles, list) or not roles or not set(roles) <= set(Role.values):
        errors["roles"] = "役割を1つ以上選んでください。"
    duties = data.get("duties") or []
    if not isinstance(duties, list) or not set(duties) <= set(FileDuty.values):
        errors["duties"] = "担当ファイルの指定が正しくありません。"
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidInput(message, code="E_APPLICATION_PARTICULARS", field=field)
    return {
        "login_id": login_id,
        "staff_number": staff_number,
        "full_name": full_name,
        "department": department,
        "roles": sorted(set(roles), key=Role.values.index),
        "duties": sorted(set(duties)),
    }


def _clean_terminal_particulars(data: dict) -> dict:
    name = str(data.get("name", "")).strip()
    place = str(data.get("place", "")).strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("端末名を100文字以内で入力してください。", code="E_APPLICATION_PARTICULARS", field="name")
    if not 1 <= len(place) <= 200:
        raise InvalidInput("設置場所を200文字以内で入力してください。", code="E_APPLICATION_PARTICULARS", field="place")
    return {"name": name, "place": place}


def _clean_client_particulars(data: dict) -> dict:
    kind = data.get("kind")
    name = str(data.get("name", "")).strip()
    if kind not in ClientKind.values:
        raise InvalidInput("クライアント種別を選んでください。", code="E_APPLICATION_PARTICULARS", field="kind")
    if not 1 <= len(name) <= 100:
        raise InvalidInput("名称を100文字以内で入力してください。", code="E_APPLICATION_PARTICULARS", field="name")
    if kind == ClientKind.CS:
        try:
            municipality = validate_lg_code(str(data.get("municipality_code", "")))
        except CodeError as exc:
            raise InvalidInput(exc.message, code=exc.code, field="municipality_code") from None
        return {"kind": kind, "name": name, "municipality_code": municipality, "duty_codes": []}
    duties = data.get("duty_codes") or []
    if not isinstance(duties, list) or not duties or not all(_DUTY_CODE.fullmatch(str(d)) for d in duties):
        raise InvalidInput(
            "事務コードを「6-1」の形式で1つ以上入力してください。", code="E_APPLICATION_PARTICULARS", field="duty_codes"
        )
    # Only duties of the registry (provision.Duty), active ones: a code nobody registered
    # would grant nothing today and something unforeseen once a duty takes that code.
    from provision.selectors import duty_codes_unregistered

    unknown = duty_codes_unregistered(sorted(set(map(str, duties))))
    if unknown:
        raise InvalidInput(
            f"事務コード {', '.join(unknown)} は事務の登録簿にない（または停止中の）事務です。",
            code="E_DUTY_NOT_REGISTERED",
            field="duty_codes",
        )
    return {"kind": kind, "name": name, "municipality_code": "", "duty_codes": sorted(set(map(str, duties)))}


_PARTICULARS = {
    SubjectKind.OPERATOR: _clean_operator_particulars,
    SubjectKind.TERMINAL: _clean_terminal_particulars,
    SubjectKind.CLIENT: _clean_client_particulars,
}


def _clean_applicant(applicant_name: str, applicant_staff_number: str, applicant_department: str, reason: str) -> None:
    if not (1 <= len(applicant_name.strip()) <= 100):
        raise InvalidInput("申請者の氏名を入力してください。", code="E_APPLICATION_APPLICANT", field="applicant_name")
    if not re.fullmatch(r"[A-Za-z0-9-]{1,32}", applicant_staff_number.strip()):
        raise InvalidInput(
            "申請者の職員番号を半角英数字で入力してください。",
            code="E_APPLICATION_APPLICANT",
            field="applicant_staff_number",
        )
    if not (1 <= len(applicant_department.strip()) <= 100):
        raise InvalidInput(
            "申請者の所属を入力してください。", code="E_APPLICATION_APPLICANT", field="applicant_department"
        )
    if not (1 <= len(reason.strip()) <= 500):
        raise InvalidInput("申請理由を500文字以内で入力してください。", code="E_APPLICATION_REASON", field="reason")


# --- Applications ------------------------------------------------------------------


def application_file_issue(
    *,
    actor: Operator,
    subject_kind: str,
    applicant_name: str,
    applicant_staff_number: str,
    applicant_department: str,
    applied_on: dt.date,
    reason: str,
    particulars: dict,
) -> IdApplication:
    """Enter a 新規発効届 with its particulars. Nothing is issued until a decision."""
    _authorize(actor, "application.file_issue", log_action="application.file")
    if subject_kind not in _PARTICULARS:
        raise InvalidInput("対象種別が正しくありません。", code="E_APPLICATION_SUBJECT", field="subject_kind")
    _clean_applicant(applicant_name, applicant_staff_number, applicant_department, reason)
    cleaned = _PARTICULARS[subject_kind](particulars)
    with transaction.atomic():
        application = IdApplication.objects.create(
            kind=ApplicationKind.ISSUE,
            subject_kind=subject_kind,
            applicant_name=applicant_name.strip(),
            applicant_staff_number=applicant_staff_number.strip(),
            applicant_department=applicant_department.strip(),
            applied_on=applied_on,
            reason=reason.strip(),
            particulars=cleaned,
            filed_by=actor,
        )
        access_log.log_event(action="application.file", target_code=f"app:{application.pk}", detail="新規発効届")
    return application


def _subject(subject_kind: str, subject_id: str):
    model, field = {
        SubjectKind.OPERATOR: (Operator, "login_id"),
        SubjectKind.TERMINAL: (Terminal, "terminal_id"),
        SubjectKind.CLIENT: (MachineClient, "client_id"),
    }.get(subject_kind, (None, None))
    if model is None:
        raise InvalidInput("対象種別が正しくありません。", code="E_APPLICATION_SUBJECT", field="subject_kind")
    try:
        return model.objects.select_for_update().get(**{field: subject_id})
    except model.DoesNotExist:
        raise NotFound("対象のIDが見つかりません。", code="E_SUBJECT_NOT_FOUND", field="subject_id") from None


def application_file_revoke(
    *,
    actor: Operator,
    subject_kind: str,
    subject_id: str,
    applicant_name: str,
    applicant_staff_number: str,
    applicant_department: str,
    applied_on: dt.date,
    reason: str,
) -> IdApplication:
    """The security administrator files a 失効届 (staff moved or retired, misuse…)."""
    _authorize(actor, "application.file_revoke", log_action="application.file", target=subject_id)
    _clean_applicant(applicant_name, applicant_staff_number, applicant_department, reason)
    with transaction.atomic():
        subject = _subject(subject_kind, subject_id)
        if subject.state == IdentityState.REVOKED:
            raise Conflict("このIDは既に失効しています。", code="E_ALREADY_REVOKED")
        links = {subject_kind: subject}
        application = IdApplication.objects.create(
            kind=ApplicationKind.REVOKE,
            subject_kind=subject_kind,
            applicant_name=applicant_name.strip(),
            applicant_staff_number=applicant_staff_number.strip(),
            applicant_department=applicant_department.strip(),
            applied_on=applied_on,
            reason=reason.strip(),
            particulars={"subject_id": subject_id},
            filed_by=actor,
            **links,
        )
        access_log.log_event(action="application.file", target_code=f"app:{application.pk}", detail="失効届")
    return application


def _locked_application(application_id: int) -> IdApplication:
    try:
        return IdApplication.objects.select_for_update().get(pk=application_id)
    except IdApplication.DoesNotExist:
        raise NotFound("届出が見つかりません。", code="E_APPLICATION_NOT_FOUND") from None


def _ensure_not_own(actor: Operator, application: IdApplication) -> None:
    """The applicant cannot approve their own application, nor anyone act on their own ID."""
    own_staff_numbers = {application.applicant_staff_number, application.particulars.get("staff_number")}
    if actor.staff_number in own_staff_numbers:
        raise PermissionRefused("申請者本人・対象者本人はこの届出を処理できません。", code="E_OWN_APPLICATION")
    if application.operator_id and application.operator_id == actor.pk:
        raise PermissionRefused("自分自身のIDに関する届出は処理できません。", code="E_OWN_APPLICATION")


def application_approve(*, actor: Operator, application_id: int):
    """Issue (新規発効届) or execute the revocation (失効届). System administrators only."""
    _authorize(actor, "application.decide", log_action="application.approve", target=f"app:{application_id}")
    try:
        with transaction.atomic():
            application = _locked_application(application_id)
            if application.state != ApplicationState.FILED:
                raise Conflict("この届出は処理済みです。", code="E_APPLICATION_DECIDED")
            _ensure_not_own(actor, application)
            if application.kind == ApplicationKind.ISSUE:
                issued = _issue(actor, application)
            else:
                issued = _revoke(actor, application)
            application.state = ApplicationState.APPROVED
            application.decided_by = actor
            application.decided_at = timezone.now()
            application.save(update_fields=["state", "decided_by", "decided_at", "operator", "terminal", "client"])
            access_log.log_event(
                action="application.approve",
                target_code=f"app:{application.pk}",
                detail=f"{application.get_kind_display()} {application.get_subject_kind_display()}",
            )
            return issued
    except PermissionRefused as exc:
        access_log.log_refusal(action="application.approve", target_code=f"app:{application_id}", detail=exc.code)
        raise


def application_reject(*, actor: Operator, application_id: int, note: str) -> IdApplication:
    _authorize(actor, "application.decide", log_action="application.reject", target=f"app:{application_id}")
    if not 1 <= len(note.strip()) <= 500:
        raise InvalidInput("却下の理由を入力してください。", code="E_DECISION_NOTE", field="note")
    with transaction.atomic():
        application = _locked_application(application_id)
        if application.state != ApplicationState.FILED:
            raise Conflict("この届出は処理済みです。", code="E_APPLICATION_DECIDED")
        application.state = ApplicationState.REJECTED
        application.decided_by = actor
        application.decided_at = timezone.now()
        application.decision_note = note.strip()
        application.save()
        access_log.log_event(action="application.reject", target_code=f"app:{application.pk}")
    return application


def _issue(actor: Operator, application: IdApplication):
    # Re-validate: another application may have taken the login ID or staff number since filing.
    particulars = _PARTICULARS[application.subject_kind](application.particulars)
    if application.subject_kind == SubjectKind.OPERATOR:
        operator = Operator(
            login_id=particulars["login_id"],
            staff_number=particulars["staff_number"],
            full_name=particulars["full_name"],
            department=particulars["department"],
            roles=particulars["roles"],
            duties=particulars["duties"],
            state=IdentityState.ACTIVE,
            must_change_password=True,
        )
        password = _one_time_password()
        operator.set_password(password)
        operator.save()
        device = _new_totp_device(operator)
        application.operator = operator
        return IssuedOperator(operator, password, totp_secret_base32(device), device.config_url)
    if application.subject_kind == SubjectKind.TERMINAL:
        terminal = Terminal.objects.create(
            terminal_id=_next_terminal_id(), name=particulars["name"], place=particulars["place"]
        )
        application.terminal = terminal
        return _start_enrolment(terminal)
    token = secrets.token_urlsafe(32)
    client = MachineClient.objects.create(
        client_id=_client_id(particulars["kind"], particulars["municipality_code"]),
        kind=particulars["kind"],
        name=particulars["name"],
        municipality_code=particulars["municipality_code"],
        duty_codes=particulars["duty_codes"],
        token_hash=_sha256(token),
    )
    application.client = client
    return IssuedClient(client, token)


def _revoke(actor: Operator, application: IdApplication) -> RemovalRecord:
    subject = application.operator or application.terminal or application.client
    subject = type(subject).objects.select_for_update().get(pk=subject.pk)
    if subject.state == IdentityState.REVOKED:
        raise Conflict("このIDは既に失効しています。", code="E_ALREADY_REVOKED")
    _set_state(subject, IdentityState.REVOKED)
    return RemovalRecord.objects.create(
        subject_kind=application.subject_kind,
        subject_id=str(subject),
        action=RemovalRecord.Action.REVOKE,
        reason=application.reason,
        requested_by=application.filed_by,
        executed_by=actor,
        application=application,
    )


def _set_state(subject, state: str) -> None:
    subject.state = state
    subject.state_changed_at = timezone.now()
    fields = ["state", "state_changed_at"]
    if isinstance(subject, Terminal) and state == IdentityState.REVOKED:
        subject.credential_hash = ""
        subject.enrolment_code_hash = ""
        fields += ["credential_hash", "enrolment_code_hash"]
    subject.save(update_fields=fields)
    # A suspended or revoked operator's sessions end at once: the authentication backend
    # refuses inactive users on their next request (ModelBackend.user_can_authenticate).


@dataclass(frozen=True)
class _SuspensionChange:
    """Suspension and reinstatement are one operation run in opposite directions."""

    permission: str
    record_action: str
    from_state: str
    to_state: str
    reason_missing: str
    own_id: str
    wrong_state: tuple[str, str]


_SUSPEND = _SuspensionChange(
    permission="identity.suspend",
    record_action=RemovalRecord.Action.SUSPEND,
    from_state=IdentityState.ACTIVE,
    to_state=IdentityState.SUSPENDED,
    reason_missing="停止の理由を入力してください。",
    own_id="自分自身のIDは停止できません。",
    wrong_state=("E_NOT_ACTIVE", "有効なIDだけを停止できます。"),
)
_REINSTATE = _SuspensionChange(
    permission="identity.reinstate",
    record_action=RemovalRecord.Action.REINSTATE,
    from_state=IdentityState.SUSPENDED,
    to_state=IdentityState.ACTIVE,
    reason_missing="停止解除の理由を入力してください。",
    own_id="自分自身のIDは停止解除できません。",
    wrong_state=("E_NOT_SUSPENDED", "停止中のIDだけを解除できます。"),
)


def _change_suspension(
    change: _SuspensionChange, *, actor: Operator, subject_kind: str, subject_id: str, reason: str
) -> RemovalRecord:
    _authorize(actor, change.permission, log_action=change.permission, target=subject_id)
    if not 1 <= len(reason.strip()) <= 500:
        raise InvalidInput(change.reason_missing, code="E_REASON_REQUIRED", field="reason")
    with transaction.atomic():
        subject = _subject(subject_kind, subject_id)
        if subject_kind == SubjectKind.OPERATOR and subject.pk == actor.pk:
            raise Conflict(change.own_id, code="E_OWN_ID")
        if subject.state != change.from_state:
            code, message = change.wrong_state
            raise Conflict(message, code=code)
        _set_state(subject, change.to_state)
        record = RemovalRecord.objects.create(
            subject_kind=subject_kind,
            subject_id=subject_id,
            action=change.record_action,
            reason=reason.strip(),
            requested_by=actor,
            executed_by=actor,
        )
        access_log.log_event(action=change.permission, target_code=subject_id, detail=subject_kind)
    return record


def identity_suspend(*, actor: Operator, subject_kind: str, subject_id: str, reason: str) -> RemovalRecord:
    """Immediate suspension by the security administrator (misuse → 即時無効化)."""
    return _change_suspension(_SUSPEND, actor=actor, subject_kind=subject_kind, subject_id=subject_id, reason=reason)


def identity_reinstate(*, actor: Operator, subject_kind: str, subject_id: str, reason: str) -> RemovalRecord:
    """A system administrator lifts a suspension (kept on record like the suspension)."""
    return _change_suspension(_REINSTATE, actor=actor, subject_kind=subject_kind, subject_id=subject_id, reason=reason)


# --- Bootstrap and demo --------------------------------------------------------------


def operator_bootstrap_admin(*, login_id: str, staff_number: str, full_name: str, department: str) -> IssuedOperator:
    """The first system administrator, only while none exists (manage.py bootstrap_admin)."""
    cleaned = _clean_operator_particulars(
        {
            "login_id": login_id,
            "staff_number": staff_number,
            "full_name": full_name,
            "department": department,
            "roles": [Role.SYSADMIN],
        }
    )
    with transaction.atomic():
        # Serialise concurrent bootstraps so two cannot both see "none exists".
        transaction.get_connection().cursor().execute("SELECT pg_advisory_xact_lock(4242001)")
        if Operator.objects.filter(roles__contains=[Role.SYSADMIN]).exclude(state=IdentityState.REVOKED).exists():
            raise Conflict("システム管理者は既に存在します。", code="E_BOOTSTRAP_DONE")
        operator = Operator(**cleaned, state=IdentityState.ACTIVE, must_change_password=True)
        password = _one_time_password()
        operator.set_password(password)
        operator.save()
        device = _new_totp_device(operator)
        with context.acting(actor_kind="system", actor="manage.py"):
            access_log.log_event(action="operator.bootstrap", target_code=operator.login_id)
    return IssuedOperator(operator, password, totp_secret_base32(device), device.config_url)


def operator_create_demo(*, login_id: str, roles: list[str], password: str, full_name: str, totp_key: str) -> Operator:
    """A demonstration operator for `make up` (development mode only; seed_demo checks)."""
    operator = Operator.objects.filter(login_id=login_id).first() or Operator(login_id=login_id)
    operator.staff_number = f"DEMO-{login_id}"
    operator.full_name = full_name
    operator.department = "デモ"
    operator.roles = roles
    operator.duties = list(FileDuty.values)
    operator.state = IdentityState.ACTIVE
    operator.must_change_password = False
    operator.set_password(password)
    operator.save()
    TOTPDevice.objects.filter(user=operator).delete()
    TOTPDevice.objects.create(user=operator, name="認証アプリ", confirmed=True, key=totp_key)
    return operator


def operator_change_password(*, operator: Operator, old_password: str, new_password: str) -> None:
    if not operator.check_password(old_password):
        access_log.log_refusal(action="password.change", target_code=operator.login_id, detail="現在のパスワード不一致")
        raise InvalidInput("現在のパスワードが正しくありません。", code="E_PASSWORD_WRONG", field="old_password")
    if old_password == new_password:
        raise InvalidInput(
            "新しいパスワードは現在のものと異なる必要があります。", code="E_PASSWORD_SAME", field="new_password"
        )
    try:
        validate_password(new_password, user=operator)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), code="E_PASSWORD_RULES", field="new_password") from None
    with transaction.atomic():
        operator.set_password(new_password)
        operator.must_change_password = False
        operator.password_changed_at = timezone.now()
        operator.save(update_fields=["password", "must_change_password", "password_changed_at"])
        access_log.log_event(action="password.change", target_code=operator.login_id)


# --- Terminals -------------------------------------------------------------------------


def _serialise_id_allocation() -> None:
    """Two approvals at once must not compute the same next ID (held to the end of the transaction)."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(4242002)")


def _next_terminal_id() -> str:
    _serialise_id_allocation()
    last = Terminal.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return f"TM{last + 1:04d}"


def _start_enrolment(terminal: Terminal) -> IssuedTerminal:
    code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
    terminal.enrolment_code_hash = _sha256(code)
    terminal.enrolment_expires_at = timezone.now() + ENROLMENT_CODE_TTL
    terminal.save(update_fields=["enrolment_code_hash", "enrolment_expires_at"])
    return IssuedTerminal(terminal, code, terminal.enrolment_expires_at)


def terminal_register_direct(*, name: str, place: str) -> IssuedTerminal:
    """For `manage.py enroll_terminal` at the server console (bootstrap of the first terminal)."""
    particulars = _clean_terminal_particulars({"name": name, "place": place})
    with transaction.atomic():
        terminal = Terminal.objects.create(terminal_id=_next_terminal_id(), **particulars)
        issued = _start_enrolment(terminal)
        with context.acting(actor_kind="system", actor="manage.py"):
            access_log.log_event(action="terminal.register", target_code=terminal.terminal_id)
    return issued


def terminal_enrol(*, code: str, enrolled_by: Operator | None = None) -> tuple[Terminal, str]:
    """Exchange a one-time enrolment code for the signed terminal credential (a cookie value)."""
    normalised = code.strip().upper()
    if not re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", normalised):
        access_log.log_refusal(action="terminal.enrol", detail="形式誤り")
        raise InvalidInput(
            "登録コードは「XXXX-XXXX-XXXX」の形式で入力してください。", code="E_ENROLMENT_CODE", field="code"
        )
    with transaction.atomic():
        terminal = (
            Terminal.objects.select_for_update()
            .filter(enrolment_code_hash=_sha256(normalised), enrolment_expires_at__gt=timezone.now())
            .exclude(state=IdentityState.REVOKED)
            .first()
        )
        if terminal is None:
            refused = True
        else:
            refused = False
            secret = secrets.token_urlsafe(32)
            terminal.credential_hash = _sha256(secret)
            terminal.enrolment_code_hash = ""
            terminal.enrolment_expires_at = None
            terminal.state = IdentityState.ACTIVE
            terminal.state_changed_at = timezone.now()
            terminal.enrolled_at = timezone.now()
            terminal.enrolled_by = enrolled_by
            terminal.save()
            with context.acting(terminal=terminal.terminal_id):
                access_log.log_event(action="terminal.enrol", target_code=terminal.terminal_id)
    if refused:
        access_log.log_refusal(action="terminal.enrol", detail="コード不一致または期限切れ")
        raise InvalidInput("登録コードが正しくないか、有効期限が切れています。", code="E_ENROLMENT_CODE", field="code")
    return terminal, signing.dumps({"t": terminal.terminal_id, "s": secret}, salt=TERMINAL_COOKIE_SALT)


def terminal_authenticate(cookie_value: str | None) -> Terminal | None:
    """The terminal behind a signed credential, if it is enrolled and active."""
    if not cookie_value:
        return None
    try:
        data = signing.loads(cookie_value, salt=TERMINAL_COOKIE_SALT)
        terminal_id, secret = str(data["t"]), str(data["s"])
    except (signing.BadSignature, KeyError, TypeError):
        return None
    terminal = Terminal.objects.filter(terminal_id=terminal_id, state=IdentityState.ACTIVE).first()
    if terminal is None or not terminal.credential_hash:
        return None
    if not hmac.compare_digest(terminal.credential_hash, _sha256(secret)):
        return None
    return terminal


# --- Machine clients ---------------------------------------------------------------------


def _client_id(kind: str, municipality_code: str) -> str:
    _serialise_id_allocation()
    prefix = f"CS{municipality_code}" if kind == ClientKind.CS else "BODY"
    count = MachineClient.objects.filter(client_id__startswith=prefix).count()
    return f"{prefix}-{count + 1:02d}"


def client_issue_direct(*, kind: str, name: str, municipality_code: str = "", duty_codes=()) -> IssuedClient:
    """For `manage.py issue_client` (API.md): prints the token once, stores its hash."""
    particulars = _clean_client_particulars(
        {"kind": kind, "name": name, "municipality_code": municipality_code, "duty_codes": list(duty_codes)}
    )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        client = MachineClient.objects.create(
            client_id=_client_id(particulars["kind"], particulars["municipality_code"]),
            token_hash=_sha256(token),
            **particulars,
        )
        with context.acting(actor_kind="system", actor="manage.py"):
            access_log.log_event(action="client.issue", target_code=client.client_id)
    return IssuedClient(client, token)


def client_authenticate(token: str | None) -> MachineClient | None:
    """The active client behind a bearer token (only its SHA-256 is stored)."""
    if not token or len(token) > 200:
        return None
    return MachineClient.objects.filter(token_hash=_sha256(token), state=IdentityState.ACTIVE).first()


# --- Grant review ------------------------------------------------------------------------


def _grants_snapshot() -> dict:
    return {
        "operators": [
            {
                "login_id": o.login_id,
                "staff_number": o.staff_number,
                "full_name": o.full_name,
                "department": o.department,
                "roles": o.roles,
                "duties": o.duties,
                "state": o.state,
                "last_login": o.last_login.isoformat() if o.last_login else None,
            }
            for o in Operator.objects.exclude(state=IdentityState.REVOKED).order_by("login_id")
        ],
        "terminals": [
            {"terminal_id": t.terminal_id, "name": t.name, "place": t.place, "state": t.state}
            for t in Terminal.objects.exclude(state=IdentityState.REVOKED).order_by("terminal_id")
        ],
        "clients": [
            {
                "client_id": c.client_id,
                "kind": c.kind,
                "name": c.name,
                "municipality_code": c.municipality_code,
                "duty_codes": c.duty_codes,
                "state": c.state,
            }
            for c in MachineClient.objects.exclude(state=IdentityState.REVOKED).order_by("client_id")
        ],
    }


def grant_review_create(*, actor: Operator, period_label: str) -> GrantReview:
    _authorize(actor, "grant_review.manage", log_action="grant_review.create")
    if not 1 <= len(period_label.strip()) <= 40:
        raise InvalidInput("対象期間を入力してください（例: 2026年度上期）。", code="E_REVIEW_PERIOD", field="period")
    with transaction.atomic():
        review = GrantReview.objects.create(
            period_label=period_label.strip(), snapshot=_grants_snapshot(), created_by=actor
        )
        access_log.log_event(action="grant_review.create", target_code=f"review:{review.pk}")
    return review


def grant_review_sign_off(*, actor: Operator, review_id: int, findings: str) -> GrantReview:
    _authorize(actor, "grant_review.manage", log_action="grant_review.sign_off", target=f"review:{review_id}")
    if not 1 <= len(findings.strip()) <= 4000:
        raise InvalidInput("確認結果を入力してください。", code="E_REVIEW_FINDINGS", field="findings")
    with transaction.atomic():
        review = GrantReview.objects.select_for_update().filter(pk=review_id).first()
        if review is None:
            raise NotFound("確認表が見つかりません。", code="E_REVIEW_NOT_FOUND")
        if review.signed_off_at:
            raise Conflict("この確認は既に承認済みです。", code="E_REVIEW_SIGNED")
        review.signed_off_by = actor
        review.signed_off_at = timezone.now()
        review.findings = findings.strip()
        review.save()
        access_log.log_event(action="grant_review.sign_off", target_code=f"review:{review.pk}")
    return review
