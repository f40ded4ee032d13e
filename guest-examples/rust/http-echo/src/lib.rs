//! A `wasi:http/proxy` component on the `wasip2` crate's bindings, with no wafer SDK: it
//! answers every request with what it received (method, path, the headers wafer adds, the
//! environment it was given and the request body, read as a stream), and writes a line to
//! stdout and one to stderr, which wafer keeps as the execution's logs and errors.
//!
//! `?status=N` answers with status N; `?fail` traps after answering the head.

use std::io::{Read as _, Write as _};

use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasip2::http::proxy::export!(HttpEcho);

struct HttpEcho;

impl wasip2::exports::http::incoming_handler::Guest for HttpEcho {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = method_name(&request.method());
        let path = request.path_with_query().unwrap_or_default();
        let query = path.split_once('?').map(|(_, query)| query).unwrap_or("");
        let status = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("status="))
            .and_then(|code| code.parse().ok())
            .unwrap_or(200);
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .first()
                .map(|value| String::from_utf8_lossy(value).into_owned())
                .unwrap_or_default()
        };
        let mut text = format!("{method} {path}\n");
        let authority = request.authority().unwrap_or_default();
        text.push_str(&format!("authority: {authority}\n"));
        for name in ["x-appwrite-trigger", "x-appwrite-execution-id"] {
            text.push_str(&format!("{name}: {}\n", header(name)));
        }
        let function = std::env::var("APPWRITE_FUNCTION_ID").unwrap_or_default();
        text.push_str(&format!("function: {function}\n"));
        let body = read_body(&request);
        text.push_str(&format!("body: {}", String::from_utf8_lossy(&body)));

        println!("handled {method} {path}");
        eprintln!("request body of {} bytes", body.len());

        let headers = Fields::from_list(&[
            ("content-type".to_owned(), b"text/plain; charset=utf-8".to_vec()),
            ("x-example".to_owned(), b"http-echo".to_vec()),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        response.set_status_code(status).expect("a valid status");
        let out_body = response.body().expect("the body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        let mut stream = out_body.write().expect("the stream is taken once");
        stream.write_all(text.as_bytes()).expect("the client reads");
        stream.flush().expect("the client reads");
        drop(stream);
        if query.split('&').any(|pair| pair == "fail") {
            panic!("failing after the response head, as asked");
        }
        OutgoingBody::finish(out_body, None).expect("the body is complete");
    }
}

fn method_name(method: &Method) -> String {
    let name = match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    };
    name.to_owned()
}

fn read_body(request: &IncomingRequest) -> Vec<u8> {
    let body = request.consume().expect("the body is consumed once");
    let mut bytes = Vec::new();
    {
        let mut stream = body.stream().expect("the stream is taken once");
        stream.read_to_end(&mut bytes).expect("the request body arrives");
    }
    IncomingBody::finish(body);
    bytes
}
