"""Unknown addresses: the API answers in API.md's error shape, staff pages in Japanese."""

import pytest


@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "E_NOT_FOUND", "message": "対象が見つかりません。"}}


@pytest.mark.django_db
def test_an_unknown_staff_path_is_a_japanese_page(staff_client):
    response = staff_client("gyomu").get("/no-such-page/")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.content.decode()


def test_a_server_error_on_the_api_is_json_without_detail(rf):
    from jukinet.views import server_error

    response = server_error(rf.get("/api/cs/v1/honnin/notices"))
    assert response.status_code == 500 and b"E_INTERNAL" in response.content and b"Traceback" not in response.content
