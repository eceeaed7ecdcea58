//! Property and edge-case tests for the order-preserving key codec.

use ordex_core::codec::*;

use proptest::prelude::*;
use std::cmp::Ordering;
use std::fmt::Debug;

/// Byte strings biased towards the bytes that matter for escaping.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(0x00u8),
            2 => Just(0x01u8),
            2 => Just(0xFFu8),
            1 => Just(b'a'),
            3 => any::<u8>(),
        ],
        0..12,
    )
}

/// Strings: arbitrary Unicode, plus short ones rich in NUL/low/high chars.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[\\x00\\x01ab\u{7f}\u{ff}\u{10ffff}]{0,8}",]
}

/// Any f64 bit pattern (NaNs with payloads, infinities, -0.0, subnormals)
/// mixed with ordinary values.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        any::<f64>(),
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

/// Random bytes to throw at decoders.
fn junk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(0xFFu8)], 0..40),
    ]
}

fn check_order<T: KeyPart>(a: &T, b: &T, expected: Ordering) -> Result<(), TestCaseError> {
    prop_assert_eq!(encode(a).cmp(&encode(b)), expected);
    Ok(())
}

fn check_roundtrip<T: KeyPart + DecodeKeyPart + PartialEq + Debug>(
    a: &T,
) -> Result<(), TestCaseError> {
    let enc = encode(a);
    prop_assert_eq!(&decode::<T>(&enc)?, a);
    // Prefix decode consumes exactly the value.
    let mut extended = enc.clone();
    extended.extend_from_slice(b"\x00tail");
    let (v, rest) = decode_prefix::<T>(&extended)?;
    prop_assert_eq!(&v, a);
    prop_assert_eq!(rest, b"\x00tail");
    Ok(())
}

fn float_bits_eq(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

macro_rules! ord_props {
    ($($name:ident: $t:ty = $strat:expr;)*) => {$(
        mod $name {
            use super::*;
            proptest! {
                #[test]
                fn order_matches(a in $strat, b in $strat) {
                    check_order(&a, &b, a.cmp(&b))?;
                }
                #[test]
                fn roundtrip(a in $strat) {
                    check_roundtrip(&a)?;
                }
                #[test]
                fn junk_never_panics(bytes in junk()) {
                    let _ = decode::<$t>(&bytes);
                    let _ = decode_prefix::<$t>(&bytes);
                }
            }
        }
    )*};
}

ord_props! {
    u32_props: u32 = any::<u32>();
    u64_props: u64 = any::<u64>();
    i32_props: i32 = any::<i32>();
    i64_props: i64 = any::<i64>();
    bool_props: bool = any::<bool>();
    bytes_props: Vec<u8> = bytes();
    string_props: String = string();
    tuple_u64_bytes: (u64, Vec<u8>) = (any::<u64>(), bytes());
    tuple_bytes_bytes: (Vec<u8>, Vec<u8>) = (bytes(), bytes());
    tuple_i32_bytes_u64: (i32, Vec<u8>, u64) = (any::<i32>(), bytes(), any::<u64>());
}

proptest! {
    #[test]
    fn f64_order_matches_total_cmp(a in float(), b in float()) {
        check_order(&a, &b, a.total_cmp(&b))?;
        prop_assert_eq!(f64_key(a).cmp(&f64_key(b)), a.total_cmp(&b));
    }

    #[test]
    fn f64_roundtrip_bit_exact(a in float()) {
        let back: f64 = decode(&encode(&a))?;
        prop_assert!(float_bits_eq(a, back));
        prop_assert!(float_bits_eq(a, f64_from_key(&f64_key(a))?));
    }

    #[test]
    fn f32_order_and_roundtrip(ab in any::<u32>(), bb in any::<u32>()) {
        let (a, b) = (f32::from_bits(ab), f32::from_bits(bb));
        check_order(&a, &b, a.total_cmp(&b))?;
        prop_assert_eq!(f32_from_key(&f32_key(a))?.to_bits(), ab);
    }

    #[test]
    fn f64_junk_never_panics(bytes in junk()) {
        let _ = decode::<f64>(&bytes);
        let _ = f64_from_key(&bytes);
    }

    #[test]
    fn string_f64_tuple_order(
        a in (string(), any::<i64>(), float()),
        b in (string(), any::<i64>(), float()),
    ) {
        let expected = a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2));
        check_order(&a, &b, expected)?;
    }

    #[test]
    fn string_f64_tuple_roundtrip(a in (string(), any::<i64>(), float())) {
        let back: (String, i64, f64) = decode(&encode(&a))?;
        prop_assert_eq!(&back.0, &a.0);
        prop_assert_eq!(back.1, a.1);
        prop_assert!(float_bits_eq(back.2, a.2));
    }

    #[test]
    fn string_f64_tuple_junk_never_panics(bytes in junk()) {
        let _ = decode::<(String, i64, f64)>(&bytes);
    }

    #[test]
    fn fast_paths_match_encode(u in any::<u64>(), i in any::<i64>(), x in float()) {
        prop_assert_eq!(&u64_key(u)[..], &encode(&u)[..]);
        prop_assert_eq!(&i64_key(i)[..], &encode(&i)[..]);
        prop_assert_eq!(&u32_key(u as u32)[..], &encode(&(u as u32))[..]);
        prop_assert_eq!(&i32_key(i as i32)[..], &encode(&(i as i32))[..]);
        prop_assert_eq!(&f64_key(x)[..], &encode(&x)[..]);
        prop_assert_eq!(u64_from_key(&u64_key(u))?, u);
        prop_assert_eq!(i64_from_key(&i64_key(i))?, i);
        prop_assert_eq!(u32_from_key(&u32_key(u as u32))?, u as u32);
        prop_assert_eq!(i32_from_key(&i32_key(i as i32))?, i as i32);
    }

    #[test]
    fn fast_path_junk_never_panics(bytes in junk()) {
        let _ = u32_from_key(&bytes);
        let _ = u64_from_key(&bytes);
        let _ = i32_from_key(&bytes);
        let _ = i64_from_key(&bytes);
        let _ = f32_from_key(&bytes);
    }

    #[test]
    fn builder_matches_tuple_and_reader_reads_back(a in any::<i32>(), s in bytes(), n in any::<u64>()) {
        let key = KeyBuilder::new().push(&a).push(&s[..]).push(&n).finish();
        prop_assert_eq!(&key, &encode(&(a, s.clone(), n)));
        let mut r = KeyReader::new(&key);
        prop_assert_eq!(r.next::<i32>()?, a);
        prop_assert_eq!(r.next::<Vec<u8>>()?, s);
        prop_assert_eq!(r.next::<u64>()?, n);
        prop_assert!(r.is_empty());
        r.finish()?;
    }

    #[test]
    fn tuple_prefix_is_byte_prefix(a in any::<u64>(), s in string(), n in any::<i64>()) {
        let full = encode(&(a, s.as_str(), n));
        let prefix = encode(&(a, s.as_str()));
        prop_assert!(full.starts_with(&prefix));
    }
}

// ---- hand-written edge cases ----

#[test]
fn signed_integer_order() {
    let vals = [i64::MIN, -1, 0, 1, i64::MAX];
    for w in vals.windows(2) {
        assert!(encode(&w[0]) < encode(&w[1]), "{} < {}", w[0], w[1]);
        assert!(i64_key(w[0]) < i64_key(w[1]));
    }
    assert_eq!(i64_key(i64::MIN), [0; 8]);
    assert_eq!(i64_key(0), [0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert!(encode(&i32::MIN) < encode(&-1i32) && encode(&-1i32) < encode(&0i32));
    assert!(encode(&i8::MIN) < encode(&i8::MAX));
    assert_eq!(decode::<i128>(&encode(&i128::MIN)), Ok(i128::MIN));
    assert_eq!(decode::<u16>(&encode(&0xABCDu16)), Ok(0xABCD));
}

#[test]
fn float_edge_order() {
    assert!(f64_key(-0.0) < f64_key(0.0));
    assert!(f64_key(f64::NEG_INFINITY) < f64_key(f64::MIN));
    assert!(f64_key(f64::MAX) < f64_key(f64::INFINITY));
    // Positive NaN sorts above +inf, negative NaN below -inf (total_cmp).
    assert!(f64_key(f64::INFINITY) < f64_key(f64::NAN));
    assert!(f64_key(-f64::NAN) < f64_key(f64::NEG_INFINITY));
    assert!(f64_key(-1.5) < f64_key(-1.0));
    assert!(f64_key(1.0) < f64_key(1.5));
    let neg_zero = f64_from_key(&f64_key(-0.0)).unwrap();
    assert!(neg_zero == 0.0 && neg_zero.is_sign_negative());
    let payload = f64::from_bits(0x7FF0_0000_0000_1234);
    assert_eq!(
        f64_from_key(&f64_key(payload)).unwrap().to_bits(),
        payload.to_bits()
    );
    assert!(encode(&-0.0f32) < encode(&0.0f32));
}

#[test]
fn escaping_of_embedded_zero() {
    assert_eq!(encode("abc"), b"abc\x00\x01");
    assert_eq!(encode(&b"a\x00b"[..]), b"a\x00\xFFb\x00\x01");
    assert_eq!(encode(&Vec::<u8>::new()), b"\x00\x01");
    assert_eq!(encode(&vec![0u8, 0]), b"\x00\xFF\x00\xFF\x00\x01");
    assert!(encode("a") < encode("a\0"));
    assert!(encode("a\0") < encode("ab"));
    assert!(encode(&("a", "z")) < encode(&("ab", "a")));
    assert!(encode(&(&b"a"[..], 9u8)) < encode(&(&b"a\x00"[..], 0u8)));
    assert_eq!(
        decode::<Vec<u8>>(b"a\x00\xFFb\x00\x01"),
        Ok(b"a\x00b".to_vec())
    );
    assert_eq!(
        decode::<String>(b"x\x00\xFF\x00\x01"),
        Ok("x\0".to_string())
    );
}

#[test]
fn trailing_bytes_error() {
    assert_eq!(
        decode::<u32>(&[0, 0, 0, 1, 9]),
        Err(DecodeError::TrailingBytes)
    );
    assert_eq!(
        decode::<String>(b"ab\x00\x01z"),
        Err(DecodeError::TrailingBytes)
    );
    assert_eq!(u64_from_key(&[0; 9]), Err(DecodeError::TrailingBytes));
    let key = encode(&(1u64, 2u64));
    let mut r = KeyReader::new(&key);
    assert_eq!(r.next::<u64>(), Ok(1));
    assert!(!r.is_empty());
    assert_eq!(r.remaining(), &2u64.to_be_bytes()[..]);
    assert_eq!(r.finish(), Err(DecodeError::TrailingBytes));
}

#[test]
fn truncated_input_error() {
    assert_eq!(decode::<u64>(&[1, 2, 3]), Err(DecodeError::UnexpectedEnd));
    assert_eq!(i32_from_key(&[1, 2]), Err(DecodeError::UnexpectedEnd));
    assert_eq!(decode::<Vec<u8>>(b"abc"), Err(DecodeError::UnexpectedEnd));
    assert_eq!(
        decode::<Vec<u8>>(b"abc\x00"),
        Err(DecodeError::UnexpectedEnd)
    );
    assert_eq!(
        decode::<(u64, String)>(&encode(&7u64)),
        Err(DecodeError::UnexpectedEnd)
    );
    assert_eq!(decode::<bool>(&[]), Err(DecodeError::UnexpectedEnd));
    // A failed read leaves the reader where it was.
    let mut r = KeyReader::new(&[0, 1]);
    assert_eq!(r.next::<u32>(), Err(DecodeError::UnexpectedEnd));
    assert_eq!(r.remaining(), &[0, 1]);
}

#[test]
fn malformed_input_errors() {
    assert_eq!(
        decode::<Vec<u8>>(b"a\x00\x02"),
        Err(DecodeError::InvalidEscape)
    );
    assert_eq!(
        decode::<String>(b"\xFF\x00\x01"),
        Err(DecodeError::InvalidUtf8)
    );
    assert_eq!(decode::<bool>(&[2]), Err(DecodeError::InvalidBool));
    assert_eq!(decode::<Option<u8>>(&[7, 0]), Err(DecodeError::InvalidTag));
    assert_eq!(decode::<bool>(&[1]), Ok(true));
    assert!(!DecodeError::InvalidEscape.to_string().is_empty());
    let _: &dyn std::error::Error = &DecodeError::UnexpectedEnd;
}

#[test]
fn option_and_unit() {
    assert!(encode(&None::<u64>) < encode(&Some(0u64)));
    assert!(encode(&(None::<&str>, 9u8)) < encode(&(Some(""), 0u8)));
    assert_eq!(
        decode::<Option<String>>(&encode(&Some("hi"))),
        Ok(Some("hi".into()))
    );
    assert_eq!(encode(&()), Vec::<u8>::new());
    assert_eq!(decode::<(u8, (), u8)>(&[1, 2]), Ok((1, (), 2)));
}

#[test]
fn six_tuple_roundtrip_and_encode_into() {
    let t = (1u8, -2i16, 3u32, "four".to_string(), 5.5f64, true);
    let mut out = b"prefix".to_vec();
    encode_into(&t, &mut out);
    assert_eq!(&out[..6], b"prefix");
    assert_eq!(
        decode::<(u8, i16, u32, String, f64, bool)>(&out[6..]),
        Ok(t)
    );
    let mut b = KeyBuilder::with_capacity(16);
    b.append(&1u8).append("x");
    assert_eq!(b.as_bytes(), &encode(&(1u8, "x"))[..]);
    assert_eq!(b.finish(), encode(&(1u8, "x")));
}
