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


def fake_wechat_api(sessions: dict[str, dict], appid: str = "wx-test", secret: str = "s3cret"):
    """A fake of WeChat's API: ``cgi-bin/token`` and ``sns/jscode2session``.

    ``sessions`` maps a login code to the code2session answer; unknown codes get
    WeChat's errcode 40029. Every request is recorded in ``app.requests``.
    """
    app = Flask("fake_wechat_api")
    app.requests = []

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

    return app
