//! Which partition of a partitioned log (the Kafka topic) an event belongs to.
//!
//! A tenant's events all go to one partition, so a consumer sees them in store order: the
//! read models need that across streams (a conversation row copies its contact's name; an
//! erasure must follow the messages it clears). Platform events (no tenant) share one
//! partition too.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The partition, among `partitions`, of the events of `tenant`.
pub fn partition_of(tenant: Option<Uuid>, partitions: i32) -> i32 {
    if partitions <= 1 {
        return 0;
    }
    let digest = Sha256::digest(tenant.unwrap_or(Uuid::nil()).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % partitions as u64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_always_lands_on_the_same_partition_and_tenants_spread() {
        let tenants: Vec<Uuid> = (0..600).map(|_| Uuid::new_v4()).collect();
        let mut counts = [0usize; 6];
        for tenant in &tenants {
            let p = partition_of(Some(*tenant), 6);
            assert_eq!(p, partition_of(Some(*tenant), 6));
            counts[p as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 50), "{counts:?}");
        assert_eq!(partition_of(None, 6), partition_of(None, 6));
        assert_eq!(partition_of(Some(tenants[0]), 1), 0);
        assert_eq!(partition_of(Some(tenants[0]), 0), 0);
    }
}
