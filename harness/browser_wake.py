#!/usr/bin/env python3
"""A real browser visits a sleeping meeting site (tests/front_door.rs).

Headless Chromium (Debian package `chromium`) driven through chromedriver
(`chromium-driver`) with the W3C WebDriver HTTP API, Python standard
library only. The meeting domain is mapped to a loopback port with
--host-resolver-rules; the test's proxy there routes each connection the way
the domain's Route53 record points (front door or site stand-in).

The browser opens the room URL, must see the asleep page, clicks start, must
see the progress page, and must land on the room URL served by the site
stand-in. Screenshots: asleep.png, progress.png, landed.png in --out.
Prints one JSON line: what it saw and the seconds from the click to the page
reporting ready and to landing in the room. Exit 1 on any failure.
"""

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, base):
        self.base = base
        self.session = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.code} {e.read()[:500]!r}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def start(self, chromium, args):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script):
        return self.s("POST", "/execute/sync", {"script": script, "args": []})

    def find(self, css):
        found = self.s("POST", "/element", {"using": "css selector", "value": css})
        if not isinstance(found, dict) or ELEMENT not in found:
            raise RuntimeError(f"no element {css}: {found!r}")
        return found[ELEMENT]

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def url(self):
        return self.s("GET", "/url")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))

    def quit(self):
        if self.session:
            try:
                self.call("DELETE", f"/session/{self.session}")
            except Exception:
                pass


def wait(what, predicate, limit, step=0.1):
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # the page is navigating
            last = e
        time.sleep(step)
    raise RuntimeError(f"timed out after {limit}s waiting for {what}; last: {last!r}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="the room URL, e.g. http://meet.example.test/TeamSync")
    p.add_argument("--map", required=True, help="host:port the domain resolves to, e.g. 127.0.0.1:8123")
    p.add_argument("--out", required=True, help="directory for the screenshots")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    p.add_argument("--timeout", type=float, default=180)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    host = a.url.split("/")[2]
    port = free_port()
    profile = tempfile.mkdtemp(prefix="meetctl-chromium-")
    log = open(os.path.join(a.out, "chromedriver.log"), "w")
    driver_proc = subprocess.Popen([a.chromedriver, f"--port={port}"], stdout=log, stderr=subprocess.STDOUT)
    d = Driver(f"http://127.0.0.1:{port}")
    result = {"ok": False}
    try:
        wait("chromedriver", lambda: d.call("GET", "/status").get("ready"), 30, 0.2)
        d.start(a.chromium, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=900,900", f"--user-data-dir={profile}",
            f"--host-resolver-rules=MAP {host} {a.map}",
        ])
        d.go(a.url)
        h1 = lambda: d.js("var h=document.querySelector('h1');return h?h.textContent:'';")
        result["asleep_headline"] = wait("the asleep page", lambda: "asleep" in h1() and h1(), 30)
        result["lang"] = d.js("return document.documentElement.lang;")
        result["label"] = d.js("var l=document.querySelector('label');return l?l.textContent:null;")
        d.screenshot(os.path.join(a.out, "asleep.png"))
        clicked = time.monotonic()
        d.click("form button[type=submit]")
        result["progress_headline"] = wait("the progress page", lambda: "Starting" in h1() and h1(), 30, 0.02)
        result["progress_url"] = d.url()
        result["aria_live"] = d.js("return document.querySelectorAll('[aria-live]').length;")
        d.screenshot(os.path.join(a.out, "progress.png"))
        # Until the browser lands in the room: the steps as the page shows
        # them (a screenshot when they first appear), and when it reports ready.
        steps_js = ("return location.pathname.indexOf('/_meetctl/')===0?"
                    "Array.from(document.querySelectorAll('#steps li .state'))"
                    ".map(function(e){return e.textContent;}):null;")
        ready_js = ("var m=document.getElementById('message'),h=document.getElementById('headline');"
                    "return !!((m&&m.textContent.indexOf('Going to the meeting')>=0)||"
                    "(h&&h.textContent==='The meeting server is ready'));")
        result["steps_shown"] = []
        ready_at = None
        landed_at = None
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            try:
                steps = d.js(steps_js)
                if steps and len(steps) > len(result["steps_shown"]):
                    if not result["steps_shown"]:
                        d.screenshot(os.path.join(a.out, "progress-steps.png"))
                    result["steps_shown"] = steps
                if ready_at is None and d.js(ready_js):
                    ready_at = time.monotonic()
                if d.url() == a.url and d.js("return !!document.getElementById('site-stand-in');"):
                    landed_at = time.monotonic()
                    break
            except Exception:
                pass
            time.sleep(0.02)
        if landed_at is None:
            raise RuntimeError(f"never landed on {a.url}")
        result["landed_url"] = d.url()
        result["landed_text"] = d.js("return document.body.innerText;")
        d.screenshot(os.path.join(a.out, "landed.png"))
        result["click_to_ready_s"] = round((ready_at or landed_at) - clicked, 2)
        result["ready_reported_by_page"] = ready_at is not None
        result["click_to_landed_s"] = round(landed_at - clicked, 2)
        result["ok"] = True
    except Exception as e:
        result["error"] = str(e)
        try:
            result["page_text"] = d.js("return document.body?document.body.innerText:'';")
            result["page_url"] = d.url()
            d.screenshot(os.path.join(a.out, "failed.png"))
        except Exception:
            pass
    finally:
        d.quit()
        driver_proc.terminate()
        try:
            driver_proc.wait(10)
        except subprocess.TimeoutExpired:
            driver_proc.kill()
        log.close()
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
