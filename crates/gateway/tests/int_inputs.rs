//! Exact integer inputs are checked when a request arrives, over real HTTP on 127.0.0.1: a
//! package with an `int64` and a `bool` graph input (`testdata/models/int_inputs`), a request
//! holding a non-integer or an out-of-range value refused with 400 `invalid_input_value`
//! naming the input and the element, and nothing kept of it (no task, no stored input, no
//! spend reserved); a valid request is accepted.

mod common;

use common::{Api, CHAIN, DOMAIN};
use k256::ecdsa::SigningKey;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use vouch_gateway::{
    Gateway, GatewayConfig, IntegerInput, JournalSink, ModelInfo, StaticDirectory,
};
use vouch_journal::Journal;
use vouch_model::Package;
use vouch_primitives::Cid;
use vouch_store::Store;

const CAP: u128 = 1_000;

fn read_json(name: &str) -> Value {
    let path = vouch_testkit::model_dir("int_inputs").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The int_inputs fixture, its sample rate bound at import as its tests bind it.
fn package() -> (Vec<u8>, Package) {
    let onnx = std::fs::read(vouch_testkit::model_dir("int_inputs").join("model.onnx")).unwrap();
    let opts = vouch_onnx::ImportOptions {
        consts: [("sr".to_owned(), vec![16000.0])].into_iter().collect(),
        ..Default::default()
    };
    let graph = vouch_onnx::import(&onnx, &opts).unwrap();
    let cal = vouch_quant::calibration_from_json(&graph, &read_json("calibration.json")).unwrap();
    let pkg = vouch_quant::import(&graph, cal, "int_inputs", [0; 32], |_| {}).unwrap();
    (pkg.to_bytes(), pkg)
}

#[tokio::test]
async fn integer_inputs_are_checked_when_the_request_arrives() {
    let (bytes, pkg) = package();
    let ints = IntegerInput::of_package(&pkg);
    let names: Vec<&str> = ints.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["pixels", "inverted"], "{ints:?}");
    let (pixels_max, inverted) = (ints[0].max, &ints[1]);
    assert_eq!((inverted.min, inverted.max), (0, 1), "a bool takes 0 and 1");

    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("journal.sqlite")).unwrap());
    let store = Store::open(dir.path().join("store")).unwrap();
    let model = store.put(&bytes).unwrap();
    let directory = StaticDirectory::new();
    directory.add_model(ModelInfo {
        cid: model.to_string(),
        name: pkg.name.clone(),
        inputs: pkg.inputs.iter().map(|i| i.name.clone()).collect(),
        modes: vec!["optimistic".into()],
        frozen: false,
        integer_inputs: ints.clone(),
    });
    let mut cfg = GatewayConfig::new(DOMAIN, CHAIN);
    cfg.limits.spend_cap = CAP;
    cfg.sse_poll = Duration::from_millis(20);
    let gw = Gateway::new(
        cfg,
        Arc::new(JournalSink::new(journal.clone(), store.clone())),
        Arc::new(directory),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = gw.serve(listener).await;
    });
    let api = Api::new(base);
    let token = api.login(&SigningKey::from_slice(&[7; 32]).unwrap()).await;

    let valid = read_json("input.json");
    let body = |input: &Value, fee: u128| {
        json!({
            "model": model.to_string(),
            "input": input,
            "mode": "optimistic",
            "max_fee": fee.to_string(),
        })
    };
    let mut bad = Vec::new();
    // a fraction in row 0, element 3 of `pixels`
    let mut x = valid.clone();
    x["pixels"][0][3] = json!(2.5);
    bad.push((x, "pixels", "element 3 (2.5) is not an integer".to_owned()));
    // past the range in row 1, element 0 (row-major: element 64)
    let mut x = valid.clone();
    x["pixels"][1][0] = json!(pixels_max + 1);
    let why = format!(
        "element 64 ({}) is outside the input's range",
        pixels_max + 1
    );
    bad.push((x, "pixels", why));
    // a bool input holding 2, and one holding -1
    let mut x = valid.clone();
    x["inverted"][2][0] = json!(2);
    bad.push((
        x,
        "inverted",
        "element 2 (2) is outside the input's range".to_owned(),
    ));
    let mut x = valid.clone();
    x["inverted"][0][0] = json!(-1);
    bad.push((
        x,
        "inverted",
        "element 0 (-1) is outside the input's range".to_owned(),
    ));

    for (input, name, why) in &bad {
        // the whole cap as the fee: a reservation left behind would refuse the valid request
        let (st, v) = api.post("/tasks", Some(&token), &body(input, CAP)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"]["code"], "invalid_input_value", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(name) && msg.contains(why.as_str()), "{msg}");
        let input_cid = Cid::of_file(&serde_json::to_vec(input).unwrap());
        assert!(!store.has(&input_cid), "a refused input is not stored");
    }
    assert!(
        journal.tasks(None, 10).unwrap().is_empty(),
        "nothing accepted"
    );

    let (st, v) = api.post("/tasks", Some(&token), &body(&valid, CAP)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(journal.tasks(None, 10).unwrap().len(), 1);
    server.abort();
}
