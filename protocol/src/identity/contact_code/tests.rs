use proptest::prelude::*;

use super::*;
use crate::entropy::SeededEntropy;
use crate::identity::IdentityKeyPair;

fn fixed(seed: u8, name: Option<&str>, bundle: Option<Vec<u8>>) -> ContactCode {
    let key = *IdentityKeyPair::from_seed([seed; 32]).public();
    let installation = InstallationId::generate(&mut SeededEntropy::from_u64(u64::from(seed)));
    let mut code = ContactCode::new(key, installation);
    if let Some(name) = name {
        code = code.with_display_name(name).unwrap();
    }
    if let Some(bundle) = bundle {
        code = code.with_prekey_bundle(bundle).unwrap();
    }
    code
}

fn samples() -> Vec<ContactCode> {
    vec![
        fixed(1, None, None),
        fixed(2, Some("Alice 🦊"), None),
        fixed(3, Some("bob"), Some((0..=255u8).collect())),
        fixed(4, None, Some(vec![0x0a; 3])),
    ]
}

/// Every character that could be typed in place of another: the whole lower-case alphanumeric
/// range (the Bech32 alphabet, the separator `1` and the excluded `b`, `i`, `o`).
const SUBSTITUTES: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

#[test]
fn every_single_character_substitution_is_detected() {
    for code in samples() {
        let text = code.to_string();
        let mut tried = 0;
        for (i, original) in text.bytes().enumerate() {
            for &c in SUBSTITUTES.iter().filter(|&&c| c != original) {
                let mut changed = text.clone().into_bytes();
                changed[i] = c;
                let changed = String::from_utf8(changed).unwrap();
                assert!(ContactCode::parse(&changed).is_err(), "undetected change at {i} to {}: {changed}", c as char);
                tried += 1;
            }
        }
        assert_eq!(tried, text.len() * (SUBSTITUTES.len() - 1));
    }
}

#[test]
fn snapshots_of_fixed_codes() {
    insta::assert_snapshot!("contact_code_minimal", fixed(1, None, None).to_string());
    insta::assert_snapshot!("contact_code_name_and_bundle", fixed(3, Some("bob"), Some(vec![1, 2, 3])).to_string());
}

#[test]
fn text_forms_and_structure() {
    let code = fixed(2, Some("Alice 🦊"), Some(vec![9; 40]));
    let text = code.to_string();
    assert!(text.starts_with("status1p"), "{text}");
    assert_eq!(ContactCode::parse(&code.to_qr_text()), Ok(code.clone()));
    assert_eq!(text.parse::<ContactCode>(), Ok(code.clone()));
    assert_eq!(code.display_name(), Some("Alice 🦊"));
    assert_eq!(code.prekey_bundle(), Some(&[9u8; 40][..]));
}

/// Builds a code from a raw version and payload, bypassing the constructor's checks.
fn raw(version: u8, payload: &[u8]) -> String {
    let mut symbols = vec![version];
    symbols.extend(bech32m::bytes_to_symbols(payload));
    bech32m::encode(CONTACT_CODE_PREFIX, &symbols)
}

#[test]
fn malformed_inputs_get_typed_errors() {
    let good = fixed(1, None, None);
    let text = good.to_string();
    let fixed_part = good.payload();
    let mut mixed = text.clone();
    mixed.replace_range(..1, "S");
    assert_eq!(ContactCode::parse(&mixed), Err(ContactCodeError::Encoding(Bech32mError::MixedCase)));
    assert_eq!(ContactCode::parse(&text[..text.len() - 1]), Err(ContactCodeError::Encoding(Bech32mError::Checksum)));
    assert_eq!(ContactCode::parse("status1"), Err(ContactCodeError::Encoding(Bech32mError::TooShort)));
    assert_eq!(ContactCode::parse(&bech32m::encode("other", &[1])), Err(ContactCodeError::WrongPrefix("other".into())));
    assert_eq!(ContactCode::parse(&bech32m::encode("status", &[])), Err(ContactCodeError::MissingVersion));
    assert_eq!(ContactCode::parse(&raw(2, &fixed_part)), Err(ContactCodeError::UnsupportedVersion(2)));
    assert_eq!(ContactCode::parse(&raw(1, &fixed_part[..47])), Err(ContactCodeError::Truncated));
    let mut weak = fixed_part.clone();
    weak[..32].copy_from_slice(&{
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    });
    assert_eq!(ContactCode::parse(&raw(1, &weak)), Err(ContactCodeError::IdentityKey(IdentityError::WeakKey)));
    let mut not_v4 = fixed_part.clone();
    not_v4[32 + 6] = 0x10;
    assert_eq!(ContactCode::parse(&raw(1, &not_v4)), Err(ContactCodeError::InstallationId));
    let with = |extra: &[u8]| raw(1, &[fixed_part.as_slice(), extra].concat());
    assert_eq!(ContactCode::parse(&with(&[9, 0, 1, 0])), Err(ContactCodeError::UnknownField(9)));
    assert_eq!(ContactCode::parse(&with(&[2, 0, 1, 7, 1, 0, 1, b'a'])), Err(ContactCodeError::FieldOrder(1)));
    assert_eq!(ContactCode::parse(&with(&[1, 0, 0])), Err(ContactCodeError::EmptyField(1)));
    assert_eq!(ContactCode::parse(&with(&[1, 0, 5, b'a'])), Err(ContactCodeError::Truncated));
    assert_eq!(ContactCode::parse(&with(&[1, 0])), Err(ContactCodeError::Truncated));
    assert_eq!(ContactCode::parse(&with(&[1, 0, 1, 0xff])), Err(ContactCodeError::DisplayNameNotUtf8));
    assert_eq!(ContactCode::parse(&with(&[1, 0, 1, b'\n'])), Err(ContactCodeError::DisplayNameControl));
    assert_eq!(
        ContactCode::parse(&with(&[&[1u8, 0, 65][..], &[b'a'; 65]].concat())),
        Err(ContactCodeError::DisplayNameTooLong(65))
    );
    let big = [&[2u8, 0x08, 0x01][..], &[0u8; 2049]].concat();
    assert_eq!(ContactCode::parse(&with(&big)), Err(ContactCodeError::BundleTooLarge(2049)));
    let mut long = "status1".to_owned();
    long.push_str(&"q".repeat(MAX_CONTACT_CODE_LEN));
    assert!(matches!(ContactCode::parse(&long), Err(ContactCodeError::Encoding(Bech32mError::TooLong { .. }))));
    assert_eq!(good.clone().with_display_name(""), Err(ContactCodeError::EmptyField(1)));
    assert_eq!(good.with_prekey_bundle(Vec::new()), Err(ContactCodeError::EmptyField(2)));
}

fn arb_code() -> impl Strategy<Value = ContactCode> {
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        proptest::option::of("[^\\p{Cc}]{1,16}"),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..300)),
    )
        .prop_map(|(seed, id_seed, name, bundle)| {
            let key = *IdentityKeyPair::from_seed(seed).public();
            let mut code = ContactCode::new(key, InstallationId::generate(&mut SeededEntropy::from_u64(id_seed)));
            if let Some(name) = name.filter(|n| n.len() <= MAX_DISPLAY_NAME_LEN) {
                code = code.with_display_name(name).expect("valid name");
            }
            if let Some(bundle) = bundle {
                code = code.with_prekey_bundle(bundle).expect("valid bundle");
            }
            code
        })
}

proptest! {
    #[test]
    fn every_code_round_trips(code in arb_code()) {
        prop_assert_eq!(ContactCode::parse(&code.to_string()), Ok(code.clone()));
        prop_assert_eq!(ContactCode::parse(&code.to_qr_text()), Ok(code));
    }

    #[test]
    fn random_single_character_changes_are_detected(code in arb_code(), position in any::<prop::sample::Index>(), pick in any::<prop::sample::Index>()) {
        let text = code.to_string();
        let i = position.index(text.len());
        let candidates: Vec<u8> = SUBSTITUTES.iter().copied().filter(|c| *c != text.as_bytes()[i]).collect();
        let mut changed = text.into_bytes();
        changed[i] = *pick.get(&candidates);
        let changed = String::from_utf8(changed).expect("ascii");
        prop_assert!(ContactCode::parse(&changed).is_err());
    }
}
