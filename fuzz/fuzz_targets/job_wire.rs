//! Any bytes as a queue message: a job or an error, never a panic; a job
//! read is written back to the same job.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(job) = recueil_core::Job::from_wire(data) {
        let again =
            recueil_core::Job::from_wire(&job.to_wire()).expect("a job read is written back");
        assert_eq!(again, job);
    }
});
