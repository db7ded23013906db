//! Fuzzes the two things a Slack request is trusted by: its v0 signature (headers and body as sent) and the signed
//! value of a button. Nothing forged verifies, nothing panics.
#![no_main]

use fence_slack::buttons::ButtonSigner;
use fence_slack::signature::verify;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (ts, sig, body) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    // The fuzzer cannot forge an HMAC-SHA256: whatever it sends is refused.
    assert!(verify("a-signing-secret-of-32-characters!!", ts, sig, body.as_bytes(), 1_700_000_000).is_err());
    let signer = ButtonSigner::new([7; 32]);
    if let Some(v) = signer.verify(&text) {
        // Only a value the signer made verifies: signing what it names gives the same value back.
        assert_eq!(signer.sign(&v.action, &v.org_id, &v.target_id), text);
    }
});
