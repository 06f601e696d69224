//! The front door's pages: HTML5, no external assets (inline CSS, a small
//! inline script), usable without JavaScript (a plain form POST and a
//! progress page that refreshes itself), accessible (a `lang`, a label for
//! the passcode, an `aria-live` region for the progress, text contrast
//! above 7:1).

use super::{progress::StepLine, Status, PROGRESS_PATH, START_PATH, STATUS_PATH};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
:root{color-scheme:light}\
body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1a1a1a;line-height:1.5}\
main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.12)}\
h1{font-size:1.5rem;margin:0 0 .75rem}\
p{margin:.5rem 0}\
label{display:block;font-weight:600;margin:1rem 0 .25rem}\
input[type=password]{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;border:2px solid #555;border-radius:6px}\
button,.button{font:inherit;font-weight:600;margin-top:1rem;padding:.65rem 1.4rem;border:0;border-radius:6px;background:#0b4f8a;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}\
button:focus,input:focus,.button:focus{outline:3px solid #f5a623;outline-offset:2px}\
.note{color:#3d3d3d;font-size:.95rem}\
.error{color:#8a1010;font-weight:600}\
ol{padding-left:1.4rem}\
li.ok::marker{color:#1b6b2f}li.failed{color:#8a1010}\
.state{font-weight:600}";

fn document(title: &str, head_extra: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"robots\" content=\"noindex\">\n<title>{}</title>\n{head_extra}<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        escape(title)
    )
}

fn minutes(seconds: u64) -> u64 {
    seconds.div_ceil(60).max(1)
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The page for a sleeping platform, with the start form. `notice`: a
/// message above the form (a wrong passcode, a rate limit).
pub fn asleep(status: &Status, room: &str, ask_passcode: bool, notice: Option<&str>) -> String {
    let estimate = plural(minutes(status.estimate_seconds), "minute");
    let notice = notice
        .map(|n| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(n)))
        .unwrap_or_default();
    let failed = status
        .error
        .as_deref()
        .map(|e| {
            format!(
                "<p class=\"error\">The last start did not succeed: {}</p>\n",
                escape(e)
            )
        })
        .unwrap_or_default();
    let passcode = if ask_passcode {
        "<label for=\"passcode\">Passcode</label>\n\
<input id=\"passcode\" name=\"passcode\" type=\"password\" autocomplete=\"current-password\" required>\n"
    } else {
        ""
    };
    let body = format!(
        "<h1>This meeting server is asleep</h1>\n\
<p>It runs only while people meet, so that it costs nothing otherwise. Start it now: it is ready in about {estimate}, and then this page takes you to <strong>{room_text}</strong>.</p>\n\
{failed}{notice}<form method=\"post\" action=\"{START_PATH}\">\n\
<input type=\"hidden\" name=\"room\" value=\"{room_attr}\">\n{passcode}\
<button type=\"submit\">Start it (about {estimate})</button>\n</form>\n\
<p class=\"note\">It goes back to sleep by itself when nobody has been in a meeting for a while.</p>",
        room_text = escape(room),
        room_attr = escape(room),
    );
    document("Meeting server asleep", "", &body)
}

fn step_items(steps: &[StepLine]) -> String {
    steps
        .iter()
        .map(|s| {
            let mark = match s.state.as_str() {
                "ok" => "done",
                "skipped" => "skipped",
                "failed" => "failed",
                _ => "running",
            };
            let detail = if s.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", escape(&s.detail))
            };
            format!(
                "<li class=\"{}\"><span class=\"state\">{}</span> ({mark}){detail}</li>",
                escape(&s.state),
                escape(&s.step)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The page while starting. Without JavaScript it reloads itself every few
/// seconds (`<noscript><meta refresh>`); with it, a script polls the status
/// endpoint and goes to the room once the platform is ready or the site
/// itself answers at this address.
pub fn progress(status: &Status, room: &str) -> String {
    let estimate = plural(minutes(status.estimate_seconds), "minute");
    let elapsed = status
        .elapsed_seconds
        .map(|s| {
            format!(
                " ({} so far)",
                crate::output::human_duration(std::time::Duration::from_secs(s))
            )
        })
        .unwrap_or_default();
    let (headline, refresh) = match status.state.as_str() {
        "ready" => (
            "The meeting server is ready".to_string(),
            format!(
                "<meta http-equiv=\"refresh\" content=\"2; url={}\">\n",
                escape(room)
            ),
        ),
        "failed" => (
            "The meeting server could not start".to_string(),
            String::new(),
        ),
        "asleep" => ("The meeting server is asleep".to_string(), String::new()),
        _ => (
            format!("Starting the meeting server, about {estimate}{elapsed}"),
            "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>\n".to_string(),
        ),
    };
    let error = status
        .error
        .as_deref()
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let after = match status.state.as_str() {
        "ready" => format!("<p><a class=\"button\" href=\"{0}\">Go to {0}</a></p>", escape(room)),
        "failed" | "asleep" => format!("<p><a class=\"button\" href=\"{}\">Back</a></p>", escape(room)),
        _ => format!(
            "<p class=\"note\">This page goes to <strong>{}</strong> by itself when the server is ready. You can leave it open.</p>",
            escape(room)
        ),
    };
    let body = format!(
        "<h1 id=\"headline\">{}</h1>\n{error}<div aria-live=\"polite\" aria-atomic=\"false\">\n<p id=\"message\">{}</p>\n<ol id=\"steps\">\n{}\n</ol>\n</div>\n{after}\n{}",
        escape(&headline),
        escape(&status.message),
        step_items(&status.steps),
        script(room),
    );
    document("Starting the meeting server", &refresh, &body)
}

/// The poller: every 1.5 s the status endpoint. An answer that is not the
/// front door's (no marker header) means DNS now leads to the site: go to
/// the room. A network error means nothing answers yet: keep polling.
fn script(room: &str) -> String {
    let room_json = serde_json::to_string(room).expect("a string");
    format!(
        "<script>\n(function(){{\nvar room={room_json};\n\
var steps=document.getElementById('steps'),msg=document.getElementById('message'),head=document.getElementById('headline');\n\
function esc(t){{var d=document.createElement('div');d.textContent=t;return d.innerHTML;}}\n\
function go(){{window.location.assign(room);}}\n\
function poll(){{\n\
fetch('{STATUS_PATH}',{{cache:'no-store'}}).then(function(r){{\n\
if(!r.headers.get('x-meetctl-front-door')){{msg.textContent='The site answers. Going to the meeting...';go();return;}}\n\
return r.json().then(function(s){{\n\
steps.innerHTML=s.steps.map(function(x){{var m=x.state==='ok'?'done':(x.state==='started'?'running':x.state);return '<li class=\"'+esc(x.state)+'\"><span class=\"state\">'+esc(x.step)+'</span> ('+m+')'+(x.detail?': '+esc(x.detail):'')+'</li>';}}).join('');\n\
msg.textContent=s.message;\n\
if(s.state==='ready'){{head.textContent='The meeting server is ready';msg.textContent='Ready. Going to the meeting...';setTimeout(go,1000);return;}}\n\
if(s.state==='failed'){{head.textContent='The meeting server could not start';msg.textContent=s.message;return;}}\n\
setTimeout(poll,1500);}});\n\
}}).catch(function(){{msg.textContent='Waiting for the meeting site to answer...';setTimeout(poll,1500);}});\n\
}}\n\
setTimeout(poll,300);\n}})();\n</script>"
    )
}

/// The platform is up, yet this browser still reached the front door: its
/// DNS answer is older than the switch. Reload the room in a few seconds.
pub fn awake(room: &str) -> String {
    let body = format!(
        "<h1>The meeting server is awake</h1>\n\
<div aria-live=\"polite\"><p>Your browser still reached the wake-up page: its address lookup is older than the server's start. Trying <strong>{0}</strong> again in 5 seconds.</p></div>\n\
<p><a class=\"button\" href=\"{0}\">Try now</a></p>",
        escape(room)
    );
    document(
        "Meeting server awake",
        &format!(
            "<meta http-equiv=\"refresh\" content=\"5; url={}\">\n",
            escape(room)
        ),
        &body,
    )
}

/// A 303's body, for clients that do not follow it.
pub fn redirect(location: &str) -> String {
    document(
        "Starting",
        "",
        &format!(
            "<h1>Starting</h1>\n<p><a href=\"{0}\">See the progress</a></p>",
            escape(location)
        ),
    )
}

pub fn problem(title: &str, text: &str, room: &str) -> String {
    document(
        title,
        "",
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n<p><a class=\"button\" href=\"{}\">Back</a></p>",
            escape(title),
            escape(text),
            escape(room)
        ),
    )
}

/// Link to the progress page (for tests and the no-JavaScript flow).
pub fn progress_link(room: &str) -> String {
    format!(
        "{PROGRESS_PATH}?room={}",
        url::form_urlencoded::byte_serialize(room.as_bytes()).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str) -> Status {
        Status {
            state: state.into(),
            steps: vec![StepLine {
                step: "load-balancer".into(),
                state: "started".into(),
                detail: "<creating>".into(),
            }],
            estimate_seconds: 190,
            elapsed_seconds: Some(30),
            error: None,
            message: "The meeting server is starting.".into(),
        }
    }

    #[test]
    fn the_asleep_page_is_self_contained_and_labelled() {
        let html = asleep(
            &status("asleep"),
            "/Team\"Sync",
            true,
            Some("wrong <passcode>"),
        );
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("about 4 minutes"));
        assert!(html.contains("<label for=\"passcode\">"));
        assert!(html.contains("id=\"passcode\""));
        assert!(html.contains("value=\"/Team&quot;Sync\""));
        assert!(html.contains("wrong &lt;passcode&gt;"));
        assert!(!html.contains("src=\"http"), "no external assets");
        assert!(!html.contains("href=\"http"), "no external assets");
        let no_code = asleep(&status("asleep"), "/r", false, None);
        assert!(!no_code.contains("passcode"));
    }

    #[test]
    fn the_progress_page_works_without_javascript() {
        let html = progress(&status("starting"), "/r");
        assert!(html.contains("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"));
        assert!(html.contains("aria-live=\"polite\""));
        assert!(html.contains("load-balancer"));
        assert!(html.contains("&lt;creating&gt;"));
        let ready = progress(&status("ready"), "/r");
        assert!(ready.contains("content=\"2; url=/r\""));
    }
}
