//! SplitMix64: a small, well-known generator, deterministic for a seed. Used for the local
//! chain's price path and for the proxy's probabilistic faults; no dependency needed.

#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in (0, 1]: safe under a logarithm.
    pub fn next_open_f64(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.next_open_f64(), self.next_open_f64());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_sequence_and_draws_stay_in_range() {
        let (mut a, mut b) = (SplitMix64::new(9), SplitMix64::new(9));
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        for _ in 0..1000 {
            let (u, v) = (a.next_f64(), a.next_open_f64());
            assert!((0.0..1.0).contains(&u) && v > 0.0 && v <= 1.0);
            assert!(a.normal().is_finite());
        }
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }

    /// The published SplitMix64 reference outputs (Vigna's `splitmix64.c`): seed 0 and seed
    /// 1234567. A changed constant or shift would move every seeded price path and fault
    /// schedule, so the same `--seed` would no longer give the same report.
    #[test]
    fn the_generator_gives_the_reference_outputs() {
        let mut zero = SplitMix64::new(0);
        let first: Vec<u64> = (0..5).map(|_| zero.next_u64()).collect();
        assert_eq!(
            first,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f,
                0xf88b_b8a8_724c_81ec,
                0x1b39_896a_51a8_749b,
            ]
        );
        let mut other = SplitMix64::new(1_234_567);
        let first: Vec<u64> = (0..5).map(|_| other.next_u64()).collect();
        assert_eq!(
            first,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
    }

    /// The derived draws for seed 42, worked out apart from this code: the top 53 bits over
    /// 2^53, and Box-Muller on the next two open draws.
    #[test]
    fn the_derived_draws_give_known_values() {
        let mut rng = SplitMix64::new(42);
        assert_eq!(rng.next_f64(), 0.741_564_878_771_823_3);
        let normal = rng.normal();
        assert!(
            (normal - -0.342_244_134_738_335_26).abs() < 1e-12,
            "{normal}"
        );
    }
}
