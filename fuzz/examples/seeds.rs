//! Writes the seed corpus of every target into `corpus/<target>/` (run from `fuzz/`:
//! `cargo run --example seeds`). The tokens and envelopes are signed here with the fixed test keys,
//! so the seeds stay valid for the targets' fixed time and keys; rerun after changing either.

use std::fs;
use std::path::Path;

use fastpath_codec::encode;
use fastpath_codec::json;
use fastpath_verify::b64url;
use fastpath_verify::jwk::to_jwk;
use fastpath_verify::{sign_envelope, JwtAlg, Key};
use fuzz_support::{keys, AUDIENCE, EC_PUBLIC_PEM, ISSUER, LIMITS, NOW_MS, NOW_S, RSA_PUBLIC_PEM};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn decode_seeds() {
    let call = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":2.5}},{META}}}}}"#
    );
    let headers = "MCP-Protocol-Version: 2026-07-28\nMcp-Method: tools/call\nMcp-Name: add\n";
    let seeds: Vec<(&str, String)> = vec![
        ("tools_call_headers", format!("{headers}\n{call}")),
        ("tools_call_no_headers", call.clone()),
        (
            "tools_list",
            format!(
                "mcp-protocol-version: 2026-07-28\nmcp-method: tools/list\n\n{{\"jsonrpc\":\"2.0\",\"id\":\"a-1\",\"method\":\"tools/list\",\"params\":{{{META}}}}}"
            ),
        ),
        (
            "resources_read_sentinel",
            format!(
                "MCP-Protocol-Version: 2026-07-28\nMcp-Method: resources/read\nMcp-Name: =?base64?ZmlsZTovLy/DqXTDqS50eHQ=?=\n\n{{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/read\",\"params\":{{\"uri\":\"file:///\\u00e9t\\u00e9.txt\",{META}}}}}"
            ),
        ),
        (
            "notification",
            "MCP-Protocol-Version: 2026-07-28\nMcp-Method: notifications/cancelled\n\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":3}}".into(),
        ),
        (
            "response",
            r#"{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"ok"}],"_meta":{}}}"#.into(),
        ),
        (
            "error_response",
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bad","data":[1,"x"]}}"#.into(),
        ),
        (
            "name_mismatch",
            format!("MCP-Protocol-Version: 2026-07-28\nMcp-Method: tools/call\nMcp-Name: sub\nmcp-name: add\n\n{call}"),
        ),
        (
            "unsupported_version",
            format!("x-fuzz-supported: 2025-11-25,2026-07-28-beta\n{headers}\n{call}"),
        ),
        (
            "param_headers",
            format!(
                "x-fuzz-schema: {{\"type\":\"object\",\"properties\":{{\"region\":{{\"type\":\"string\",\"x-mcp-header\":\"Region\"}},\"n\":{{\"type\":\"integer\",\"x-mcp-header\":\"N\"}}}}}}\n{headers}Mcp-Param-Region: eu-west-1\nMcp-Param-N: 3.0\n\n{{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{{\"name\":\"add\",\"arguments\":{{\"region\":\"eu-west-1\",\"n\":3}},{META}}}}}"
            ),
        ),
        (
            "tight_limits",
            format!("x-fuzz-limits: 3 4 200\n{headers}\n{call}"),
        ),
        (
            "missing_meta_batch_dup",
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"a":1,"a":2}}}]"#.into(),
        ),
        (
            "tasks_get_escapes",
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,\"method\":\"tasks/get\",\"params\":{{\"taskId\":\"t\\ud83d\\ude00\\n\",{META}}}}}"
            ),
        ),
    ];
    for (name, text) in seeds {
        write("decode", name, text.as_bytes());
    }
}

fn compare_seeds() {
    let seeds: [(&str, &str); 14] = [
        ("numbers", r#"[0,-0,1,-1,9223372036854775807,-9223372036854775808,18446744073709551615,18446744073709551616,-9223372036854775809]"#),
        ("floats", "[0.1,1e22,1e23,-0.0,1E-400,2.2250738585072011e-308,1.7976931348623157e308,5e-324,123456789012345678901234567890e-10]"),
        ("overflow", "[1e309]"),
        ("strings", r#"["", "\u00e9\u00E9", "\ud83d\ude00", "\"\\\/\b\f\n\r\t", "é🙂", "a"]"#),
        ("lone_surrogate", r#"["\udc00"]"#),
        ("control", "[\"a\u{1}\"]"),
        ("del", "[\"a\u{7f}\"]"),
        ("nested", r#"{"a":{"b":[[[{"c":null}]]],"d":true,"e":false},"f":[]}"#),
        ("whitespace", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n"),
        ("duplicate", r#"{"a":1,"b":2,"a":3}"#),
        ("trailing", r#"{"a":1} x"#),
        ("leading_zero", "[01]"),
        ("deep", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
        ("wide_object", r#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k\u0030":15}"#),
    ];
    for (name, text) in seeds {
        write("compare_to_serde", name, text.as_bytes());
    }
}

fn claims(extra: &str) -> String {
    format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"alice","exp":{},"iat":{},"scope":"tools:read tools:call"{extra}}}"#,
        NOW_S as i64 + 600,
        NOW_S as i64 - 10
    )
}

fn token(alg: JwtAlg, kid: Option<&str>, payload: &str) -> String {
    let header = match kid {
        Some(kid) => format!(r#"{{"alg":"{}","typ":"JWT","kid":"{kid}"}}"#, alg.as_str()),
        None => format!(r#"{{"alg":"{}"}}"#, alg.as_str()),
    };
    let mut token = b64url::encode(header.as_bytes());
    token.push('.');
    token.push_str(&b64url::encode(payload.as_bytes()));
    let sig = keys().sign(alg, token.as_bytes());
    token.push('.');
    token.push_str(&b64url::encode(&sig));
    token
}

fn jwt_seeds() {
    let valid = claims("");
    let raw = [
        ("raw_hs256", token(JwtAlg::Hs256, Some("hs"), &valid)),
        ("raw_eddsa", token(JwtAlg::EdDsa, Some("ed"), &valid)),
        ("raw_ed25519_no_kid", token(JwtAlg::Ed25519, None, &valid)),
        ("raw_rs256", token(JwtAlg::Rs256, Some("rs"), &valid)),
        ("raw_ps256", token(JwtAlg::Ps256, Some("ps"), &valid)),
        ("raw_es256", token(JwtAlg::Es256, Some("es"), &valid)),
        (
            "raw_expired_scp",
            token(
                JwtAlg::Hs256,
                Some("hs"),
                &format!(
                    r#"{{"iss":"{ISSUER}","aud":["x","{AUDIENCE}"],"exp":{},"scp":["a","b"]}}"#,
                    NOW_S as i64 - 100
                ),
            ),
        ),
        ("raw_alg_none", "eyJhbGciOiJub25lIn0.e30.AA".to_owned()),
    ];
    for (name, text) in raw {
        write("jwt", name, format!("0{text}").as_bytes());
    }
    let nbf = format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}.5,"nbf":{},"sub":7}}"#,
        NOW_S as i64 + 1,
        NOW_S as i64 + 20
    );
    let structured = [
        (
            "signed_hs256",
            'B',
            r#"{"alg":"HS256","kid":"hs"}"#.to_owned(),
            valid.clone(),
        ),
        (
            "signed_eddsa_crit",
            'C',
            r#"{"alg":"EdDSA","kid":"ed","crit":["b64"]}"#.to_owned(),
            valid.clone(),
        ),
        (
            "signed_rs256_nbf",
            'E',
            r#"{"alg":"RS256","kid":"rs"}"#.to_owned(),
            nbf,
        ),
        (
            "signed_es256_wrong_kid",
            'G',
            r#"{"alg":"ES256","kid":"rs"}"#.to_owned(),
            valid.clone(),
        ),
        (
            "signed_ps256_no_kid",
            'F',
            r#"{"alg":"PS256"}"#.to_owned(),
            claims(r#","extra":{"deep":[1,2.5e3,null]}"#),
        ),
    ];
    for (name, mode, header, payload) in structured {
        write("jwt", name, format!("{mode}{header}\n{payload}").as_bytes());
    }
}

fn envelope_seeds() {
    let keys = keys();
    let request = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":[2.5,"\u00e9",{{"\ud83d\ude00":1,"\uff01":2,"z":null}}]}},{META}}}}}"#
    );
    let response = r#"{"jsonrpc":"2.0","id":"r","result":{"content":[{"type":"text","text":"3.5"}],"structuredContent":{"sum":3.5,"big":9007199254740991,"tiny":1e-7,"large":1e21}}}"#;
    let sign = |text: &str, key: &Key, aud: Option<&str>, iat: i64| {
        let mut value = json::parse(text.as_bytes(), &LIMITS).unwrap();
        sign_envelope(&mut value, key, aud, iat, *b"0123456789abcdef").unwrap();
        let mut out = Vec::new();
        encode::write_value(&mut out, &value);
        out
    };
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("request_hmac", sign(&request, &keys.hmac, None, NOW_MS)),
        ("request_ed25519_aud", sign(&request, &keys.ed25519, Some("aud"), NOW_MS - 1)),
        ("response_hmac", sign(response, &keys.hmac, None, NOW_MS)),
        ("response_ed25519_stale", sign(response, &keys.ed25519, None, NOW_MS - 120_000)),
        ("notification_hmac", sign(r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":0.5}}"#, &keys.hmac, None, NOW_MS)),
        ("unsigned", request.clone().into_bytes()),
        ("not_i_json", br#"{"method":"x","params":{"n":9007199254740993,"_meta":{"dev.mcp-fastpath/sig":{"v":1,"alg":"hmac-sha256","kid":"hs","iat":1,"nonce":"MDEyMzQ1Njc4OWFiY2RlZg","sig":"AA"}}}}"#.to_vec()),
        ("malformed_envelope", br#"{"method":"x","params":{"_meta":{"dev.mcp-fastpath/sig":{"v":1,"alg":"ed25519","kid":"ed","iat":-1,"nonce":"short","extra":0,"sig":"AA"}}}}"#.to_vec()),
        ("wrong_alg", br#"{"method":"x","params":{"_meta":{"dev.mcp-fastpath/sig":{"v":1,"alg":"ed25519","kid":"hs","iat":1780000000000,"nonce":"MDEyMzQ1Njc4OWFiY2RlZg","sig":"AA"}}}}"#.to_vec()),
        ("jcs_order", "{\"\u{10000}\":1,\"\u{ffff}\":2,\"a\":[1.0,-0.0,1e-6,1e-7,123e20,0.000001234,\"\\u001f\"]}".as_bytes().to_vec()),
        ("scalar", b"\"just a string\"".to_vec()),
        ("result_not_object", br#"{"id":1,"result":[1,2]}"#.to_vec()),
    ];
    for (name, bytes) in seeds {
        write("envelope", name, &bytes);
    }
}

fn jwks_seeds() {
    let keys = keys();
    let jwk = |key: &Key, private: bool| {
        let mut out = Vec::new();
        encode::write_value(&mut out, &to_jwk(key, private).unwrap());
        String::from_utf8(out).unwrap()
    };
    let all: Vec<String> = keys
        .ring
        .keys()
        .iter()
        .map(|k| jwk(k, matches!(k, Key::Hmac { .. })))
        .collect();
    let ed_private = jwk(&keys.ed25519, true);
    let ec = jwk(keys.ring.get("es").unwrap(), false);
    let ec_no_kid = ec.replace(r#""kid":"es","#, "");
    let rsa = jwk(keys.ring.get("rs").unwrap(), false);
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("all_keys", format!(r#"{{"keys":[{}]}}"#, all.join(",")).into_bytes()),
        ("ed25519_private", format!(r#"{{"keys":[{ed_private}]}}"#).into_bytes()),
        ("ec_no_kid", format!(r#"{{"keys":[{ec_no_kid}]}}"#).into_bytes()),
        ("rsa_alone", rsa.clone().into_bytes()),
        ("ec_alone", ec.clone().into_bytes()),
        ("skipped_keys", br#"{"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"X25519","x":"AA"},{"kty":"EC","crv":"P-384","x":"AA","y":"AA"},{"kty":"oct","alg":"A128KW","k":"AA"}]}"#.to_vec()),
        ("bad_alg_fit", br#"{"keys":[{"kty":"oct","kid":"h","alg":"ES256","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}"#.to_vec()),
        ("duplicate_kid", format!(r#"{{"keys":[{ec},{ec}]}}"#).into_bytes()),
        ("not_base64", br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="}]}"#.to_vec()),
        ("not_a_jwks", br#"{"keys":{"kty":"oct"}}"#.to_vec()),
        ("rsa_pem", RSA_PUBLIC_PEM.to_vec()),
        ("ec_pem", EC_PUBLIC_PEM.to_vec()),
        ("ed25519_raw", keys.ed25519.public_bytes().unwrap().to_vec()),
    ];
    for (name, bytes) in seeds {
        write("jwks", name, &bytes);
    }
}

fn main() {
    decode_seeds();
    compare_seeds();
    jwt_seeds();
    envelope_seeds();
    jwks_seeds();
}
