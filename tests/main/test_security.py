def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_fails(client, monkeypatch):
    from app.extensions import db

    def broken(*args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"
    assert response.get_json()["database"].startswith("error")


def test_security_headers_on_every_response(client):
    response = client.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert (
        "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_when_configured(app, client):
    app.config["HSTS_ENABLED"] = True
    try:
        assert "max-age" in client.get("/login").headers["Strict-Transport-Security"]
    finally:
        app.config["HSTS_ENABLED"] = False


def test_a_post_without_csrf_token_is_refused_with_400(app, login_as):
    client = login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/admin/users/new", data={"email": "x@example.org"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400


def test_session_cookie_is_httponly_and_lax(app, client, make_user):
    from tests.builders.auth import PASSWORD

    make_user(email="cookie@example.org")
    response = client.post("/login", data={"email": "cookie@example.org", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_page_is_a_404_in_the_layout(login_as):
    response = login_as("board").get("/no/such/page")
    assert response.status_code == 404
    assert b"There is nothing at this address." in response.data


def test_a_request_body_over_the_limit_is_refused_with_413(app, login_as):
    client = login_as("operations")
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/contributions/income-groups/import", data=too_big, content_type="text/csv")
    assert response.status_code == 413
