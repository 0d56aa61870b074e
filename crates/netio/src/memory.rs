//! Memory for the scan engine's large tables, backed by huge pages where the kernel has them.
//!
//! A scan of many hosts keeps tables of a million entries and more (per host, per slot, per
//! probe in flight), and the scan's random order reads them at random. With 4 KiB pages that
//! is a TLB miss on nearly every access, and under a hypervisor each miss walks two sets of
//! page tables. On a 2-core virtual machine, huge pages took a fifth off the engine's time per
//! probe (`cargo bench -p engine --bench line_rate`: 0.68-0.76 us silent, against 0.83-0.96
//! us with 4 KiB pages). Linux gives huge pages to memory that asks for them
//! (madvise(MADV_HUGEPAGE)) when transparent huge pages are set to "madvise", as Debian sets
//! them, and to all memory when set to "always".

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large are mapped on their own, aligned to a huge page and asked
/// to be backed by huge pages; smaller ones keep the system allocator and its 4 KiB pages (a
/// huge page is resident as a whole once touched).
const HUGE_FROM: usize = 2 * HUGE_PAGE;
/// The size of an x86-64 or arm64 (4 KiB granule) huge page.
const HUGE_PAGE: usize = 2 << 20;
/// The size of a base page, which mappings are made of.
const PAGE: usize = 4 << 10;

/// The system allocator, except that each large allocation is a fresh mapping of its own,
/// asked to be backed by huge pages before it is first touched. (Given to the system
/// allocator, it was not: glibc serves even large blocks from memory freed earlier, already
/// mapped with small pages, once a large block has been freed.) Install it as the program's
/// global allocator:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: netio::HugePageAlloc = netio::HugePageAlloc;
/// ```
pub struct HugePageAlloc;

fn is_huge(layout: Layout) -> bool {
    layout.size() >= HUGE_FROM && layout.align() <= HUGE_PAGE
}

// SAFETY: small blocks are the system allocator's, returned unchanged; a large block is a
// mapping of its own, at least its layout's size and aligned to a huge page (so to any
// alignment it may ask for), unmapped only by `dealloc` or `realloc` with that same layout.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(layout) {
            map_huge(layout.size())
        } else {
            // SAFETY: the caller's contract is the system allocator's.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(layout) {
            // A fresh anonymous mapping reads as zeros.
            map_huge(layout.size())
        } else {
            // SAFETY: as for `alloc`.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(layout) {
            unmap(ptr, layout.size());
        } else {
            // SAFETY: `ptr` came from `System` with `layout`, as the caller vouches.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller vouches that `new_size`, at `layout`'s alignment, is a layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_huge(layout) && !is_huge(new_layout) {
            // SAFETY: as for `dealloc`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: as for `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        // A large block grown (a table's Vec doubling as the scan goes) moves its pages to the
        // new mapping, as glibc's realloc does for its own mappings: copied, they were
        // faulted in anew, each zeroed and then overwritten. At line rate on one core of a
        // 2-core virtual machine, zeroing and copying went from 14 % to 11 % of the scan.
        if !new.is_null() && is_huge(layout) && new_size > layout.size() && move_pages(ptr, layout.size(), new) {
            return new;
        }
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least this long.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` was allocated here with `layout`, as the caller vouches.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

/// A fresh mapping of at least `size` bytes, aligned to a huge page and advised to be backed
/// by huge pages (a hint: a kernel without them refuses it, and nothing changes); null if
/// none could be made.
fn map_huge(size: usize) -> *mut u8 {
    let length = size.next_multiple_of(PAGE);
    let Some(padded) = length.checked_add(HUGE_PAGE) else { return std::ptr::null_mut() };
    // SAFETY: a new private anonymous mapping, overlapping nothing.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            padded,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    // Trims the mapping to the aligned `length` inside it.
    let start = (raw as usize).next_multiple_of(HUGE_PAGE);
    unmap(raw.cast(), start - raw as usize);
    unmap((start + length) as *mut u8, raw as usize + padded - (start + length));
    // SAFETY: the range is the mapping just made, and MADV_HUGEPAGE neither frees nor
    // changes any of it.
    unsafe { libc::madvise(start as *mut libc::c_void, length, libc::MADV_HUGEPAGE) };
    start as *mut u8
}

/// Moves the pages of the `size` bytes at `from` (a mapping of this module's) to the start of
/// `to` (a larger one of this module's, huge-page aligned as `from` is), in place of the
/// untouched pages there: the page tables change, nothing is copied, and `from` is left
/// unmapped. False, and nothing changed, if the kernel would not.
fn move_pages(from: *mut u8, size: usize, to: *mut u8) -> bool {
    let length = size.next_multiple_of(PAGE);
    // SAFETY: both ranges are this module's mappings, of at least `length` bytes, that no one
    // else uses; the destination's old pages were never handed out.
    let moved = unsafe {
        libc::mremap(from.cast(), length, length, libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED, to.cast::<libc::c_void>())
    };
    moved != libc::MAP_FAILED
}

/// Unmaps the `size` bytes (rounded up to whole pages) at `ptr`, a mapping of this module's.
fn unmap(ptr: *mut u8, size: usize) {
    let length = size.next_multiple_of(PAGE);
    if length > 0 {
        // SAFETY: the range is part of a mapping this module made and nothing else uses.
        unsafe { libc::munmap(ptr.cast(), length) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the mapping holding `addr` was advised to use huge pages, from
    /// /proc/self/smaps ("hg" among its VmFlags).
    fn advised_huge(addr: usize) -> bool {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ').filter(|(range, _)| range.contains('-')) {
                let (from, to) = range.split_once('-').expect("a range");
                let (from, to) = (usize::from_str_radix(from, 16), usize::from_str_radix(to, 16));
                inside = matches!((from, to), (Ok(from), Ok(to)) if (from..to).contains(&addr));
            } else if inside && line.starts_with("VmFlags:") {
                return line.split_whitespace().any(|flag| flag == "hg");
            }
        }
        false
    }

    #[test]
    fn a_large_allocation_is_a_huge_page_aligned_mapping_advised_to_use_them_and_a_small_one_is_not() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
            eprintln!("this kernel has no transparent huge pages to advise");
            return;
        }
        let allocator = HugePageAlloc;
        let large = Layout::from_size_align(16 << 20, 8).expect("layout");
        let small = Layout::from_size_align(64 << 10, 8).expect("layout");
        // SAFETY: non-zero sizes; each block is freed once, with its own layout.
        unsafe {
            let block = allocator.alloc_zeroed(large);
            assert!(!block.is_null() && (block as usize).is_multiple_of(HUGE_PAGE), "{block:p}");
            assert!(advised_huge(block as usize), "16 MiB block at {block:p}");
            assert!(std::slice::from_raw_parts(block, large.size()).iter().all(|&byte| byte == 0));
            block.add(large.size() - 1).write(7);
            let grown = allocator.realloc(block, large, 32 << 20);
            assert!((grown as usize).is_multiple_of(HUGE_PAGE), "{grown:p}");
            assert!(
                advised_huge(grown as usize) && advised_huge(grown as usize + (24 << 20)),
                "grown block at {grown:p}"
            );
            assert_eq!(grown.add(large.size() - 1).read(), 7, "the grown block keeps what it held");
            allocator.dealloc(grown, Layout::from_size_align(32 << 20, 8).expect("layout"));
            let block = allocator.alloc(small);
            assert!(!block.is_null() && !advised_huge(block as usize), "64 KiB block");
            allocator.dealloc(block, small);
        }
    }
}
