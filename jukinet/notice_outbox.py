"""The outbox side: what is forwarded to the national server (the forwarder is in
jukinet/notice_forward.py)."""


def outbox_my_number_context(file: str, notice_id: str) -> str:
    return f"outbox|{file}|{notice_id}"
