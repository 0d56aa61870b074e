//! A ring of frame buffers shared with the kernel (PACKET_TX_RING, TPACKET_V2): frames are
//! written into it and one system call hands the kernel all of them, where `send` costs a
//! system call and a copy per frame (`cargo bench -p netio --bench tx` compares the two).

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use socket2::Socket;

/// Bytes per slot: an Ethernet frame of a 1500-byte MTU and the slot's header fit.
const SLOT_SIZE: usize = 2048;
/// Bytes per block of slots (the kernel allocates the ring in blocks of whole pages).
const BLOCK_SIZE: usize = 1 << 16;
const BLOCKS: usize = 16;
const SLOTS: usize = BLOCK_SIZE / SLOT_SIZE * BLOCKS;
/// Where a frame starts in its slot: after the slot's header, aligned as TPACKET_V2 sets it
/// (the kernel reads from the header's length less that of the address it does not use).
const DATA_OFFSET: usize = libc::TPACKET2_HDRLEN - std::mem::size_of::<libc::sockaddr_ll>();

/// The ring of one packet socket, mapped into our memory.
pub(crate) struct TxRing {
    base: NonNull<u8>,
    /// The next slot to write; the lock also keeps two writers out of one slot.
    next: Mutex<usize>,
}

// SAFETY: the mapping belongs to this ring alone and lives as long as it does; slots are
// written only under the `next` lock, and handed to the kernel by an atomic store.
unsafe impl Send for TxRing {}
// SAFETY: as above: every write to the mapping is made under the `next` lock.
unsafe impl Sync for TxRing {}

impl TxRing {
    /// Sets up a transmit ring on `socket` (a packet socket not yet bound), or says why not.
    pub(crate) fn attach(socket: &Socket) -> io::Result<TxRing> {
        let version = libc::tpacket_versions::TPACKET_V2 as libc::c_int;
        // SAFETY: PACKET_VERSION takes an int.
        unsafe { crate::set_option(socket, libc::SOL_PACKET, libc::PACKET_VERSION, &version)? };
        // (Set before the ring, as the kernel requires.) A frame the kernel refuses is skipped:
        // else the kernel stops at it and sends none of
        // the frames behind it until its slot comes round again. (Frames it would refuse for
        // their size never go through the ring: see `FrameSender`.)
        let skip_refused: libc::c_int = 1;
        // SAFETY: PACKET_LOSS takes an int.
        unsafe { crate::set_option(socket, libc::SOL_PACKET, libc::PACKET_LOSS, &skip_refused)? };
        let request = libc::tpacket_req {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: BLOCKS as u32,
            tp_frame_size: SLOT_SIZE as u32,
            tp_frame_nr: SLOTS as u32,
        };
        // SAFETY: PACKET_TX_RING takes a tpacket_req.
        unsafe { crate::set_option(socket, libc::SOL_PACKET, libc::PACKET_TX_RING, &request)? };
        // SAFETY: maps the ring just set up on this socket, whole, shared with the kernel; the
        // result is checked before use.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BLOCK_SIZE * BLOCKS,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(socket),
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(mapped.cast()).ok_or_else(|| io::Error::other("mmap gave a null address"))?;
        Ok(TxRing { base, next: Mutex::new(0) })
    }

    /// The largest frame a slot holds.
    pub(crate) const fn largest_frame() -> usize {
        SLOT_SIZE - DATA_OFFSET
    }

    /// Writes `frame` into the next slot for the kernel to send at the next [`Self::flush`].
    /// `WouldBlock` when that slot is still waiting for the kernel: flush, and try again.
    pub(crate) fn queue(&self, frame: &[u8]) -> io::Result<()> {
        assert!(frame.len() <= Self::largest_frame(), "a frame fits its slot");
        let mut next = self.next.lock().expect("ring lock");
        let slot = self.slot(*next);
        let status = self.status(slot).load(Ordering::Acquire);
        if status & (libc::TP_STATUS_SEND_REQUEST | libc::TP_STATUS_SENDING) != 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // SAFETY: the slot lies within the mapping, the kernel has given it back (its status
        // says neither "send" nor "sending"), and the lock keeps other writers out; the frame
        // fits after the header (asserted above).
        unsafe {
            std::ptr::copy_nonoverlapping(frame.as_ptr(), slot.as_ptr().add(DATA_OFFSET), frame.len());
            let header = slot.cast::<libc::tpacket2_hdr>().as_ptr();
            (*header).tp_len = frame.len() as u32;
        }
        // Release: the kernel sees the frame and its length before the request to send it.
        self.status(slot).store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        *next = (*next + 1) % SLOTS;
        Ok(())
    }

    fn slot(&self, index: usize) -> NonNull<u8> {
        // SAFETY: index < SLOTS, so the slot lies within the mapping.
        unsafe { self.base.add(index * SLOT_SIZE) }
    }

    /// The status word at the start of `slot`'s header, which the kernel and we hand the
    /// slot back and forth with.
    fn status(&self, slot: NonNull<u8>) -> &AtomicU32 {
        // SAFETY: tp_status is the header's first field, a u32 aligned to the slot's start
        // (slots are 16-byte aligned in a page-aligned mapping); it lives as long as `self`.
        unsafe { AtomicU32::from_ptr(slot.cast::<u32>().as_ptr()) }
    }
}

impl Drop for TxRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `attach`, which nothing uses any more.
        unsafe { libc::munmap(self.base.as_ptr().cast(), BLOCK_SIZE * BLOCKS) };
    }
}

/// Hands the kernel every frame queued in `socket`'s ring, without waiting for them to leave.
pub(crate) fn flush(socket: &Socket) -> io::Result<()> {
    socket.send_with_flags(&[], libc::MSG_DONTWAIT).map(drop)
}
