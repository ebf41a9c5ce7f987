from django import forms

from jukinet.text_input import REASON_MAX


class JapaneseForm(forms.Form):
    """Labels without Django's trailing colon (Japanese forms do not use one)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(JapaneseForm):
    login_id = forms.CharField(
        label="ログインID", max_length=32, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    password = forms.CharField(
        label="パスワード", max_length=128, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class OtpForm(JapaneseForm):
    token = forms.RegexField(
        label="確認コード（6桁）",
        regex=r"^[0-9]{6}$",
        error_messages={"invalid": "確認コードは認証アプリに表示された6桁の数字です。"},
        widget=forms.TextInput(
            attrs={"autofocus": True, "inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6}
        ),
    )


class PasswordChangeForm(JapaneseForm):
    old_password = forms.CharField(
        label="現在のパスワード",
        max_length=128,
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="新しいパスワード", max_length=128, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password_again = forms.CharField(
        label="新しいパスワード（確認）",
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "新しいパスワードが一致しません。")
        return data


class EnrolmentForm(JapaneseForm):
    code = forms.CharField(
        label="端末登録コード", max_length=20, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"})
    )


class UnlockForm(JapaneseForm):
    password = forms.CharField(
        label="パスワード",
        max_length=128,
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "current-password"}),
    )


class CopyReasonForm(JapaneseForm):
    """Why a file (a sealed backup, a produced export) is copied off the server: every copy is logged with it."""

    reason = forms.CharField(
        label="複製の理由（持ち出し先・用途）",
        max_length=REASON_MAX,
        help_text=f"{REASON_MAX}文字以内。例: 週次の媒体保管（金庫）、"
        "監査資料として監査委員事務局へ暗号化USBで受け渡し。",
        error_messages={
            "required": "複製の理由を入力してください。",
            "max_length": f"理由は{REASON_MAX}文字以内で入力してください。",
        },
        widget=forms.TextInput(attrs={"class": "wide", "autocomplete": "off", "autofocus": True}),
    )
