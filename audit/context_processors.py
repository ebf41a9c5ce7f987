from django.conf import settings


def staff(request):
    terminal = getattr(request, "terminal", None)
    return {
        "current_terminal": terminal,
        "prefecture_name": settings.PREFECTURE_NAME,
        "screen_blank_seconds": settings.SCREEN_BLANK_SECONDS,
    }
