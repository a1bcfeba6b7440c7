"""Loopback HTTP fakes of outside services, served from a thread for one test."""

import threading
from contextlib import contextmanager

from flask import Flask, jsonify, request
from werkzeug.serving import make_server


@contextmanager
def serve(app: Flask):
    """Serve ``app`` on 127.0.0.1 on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() waits up to one interval, once per fixture.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def fake_wechat_api(
    sessions: dict[str, dict] | None = None,
    appid: str = "wx-test",
    secret: str = "s3cret",
    sec_check: dict[str, str] | None = None,
):
    """A fake of WeChat's API: ``cgi-bin/token``, ``sns/jscode2session``, ``wxa/msg_sec_check``.

    ``sessions`` maps a login code to the code2session answer; unknown codes get
    WeChat's errcode 40029. ``sec_check`` maps a word to the msg_sec_check v2
    suggestion (``risky`` / ``review``) for texts containing it; other texts pass.
    Every request is recorded in ``app.requests``, msg_sec_check bodies in
    ``app.sec_checks``.
    """
    sessions = sessions or {}
    app = Flask("fake_wechat_api")
    app.requests = []
    app.sec_checks = []
    app.sec_check = dict(sec_check or {})

    @app.before_request
    def record():
        app.requests.append((request.path, dict(request.args)))

    @app.get("/cgi-bin/token")
    def token():
        if request.args.get("appid") != appid or request.args.get("secret") != secret:
            return jsonify(errcode=40013, errmsg="invalid appid")
        return jsonify(access_token="fake-access-token", expires_in=7200)

    @app.get("/sns/jscode2session")
    def code2session():
        if request.args.get("appid") != appid or request.args.get("secret") != secret:
            return jsonify(errcode=40013, errmsg="invalid appid")
        answer = sessions.get(request.args.get("js_code", ""))
        if answer is None:
            return jsonify(errcode=40029, errmsg="invalid code")
        return jsonify(session_key="fake-session-key", **answer)

    @app.post("/wxa/msg_sec_check")
    def msg_sec_check():
        if request.args.get("access_token") != "fake-access-token":
            return jsonify(errcode=40001, errmsg="invalid credential")
        body = request.get_json(force=True)
        app.sec_checks.append(body)
        if body.get("version") != 2 or not body.get("openid") or body.get("scene") not in (1, 2, 3, 4):
            return jsonify(errcode=47001, errmsg="data format error")
        suggest = next((verdict for word, verdict in app.sec_check.items() if word in body["content"]), "pass")
        label = {"pass": 100, "review": 20001, "risky": 20001}[suggest]
        return jsonify(
            errcode=0,
            errmsg="ok",
            result={"suggest": suggest, "label": label},
            detail=[{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label}],
            trace_id="fake-trace",
        )

    return app
