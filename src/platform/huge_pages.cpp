#include "platform/huge_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace whale {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;

// "7f12a4000000-7f12a4200000 r--s ..." starts a mapping's block; "Key:   123 kB" lines follow.
bool is_mapping_header(const char* line) {
  const char* sp = std::strchr(line, ' ');
  const char* dash = std::strchr(line, '-');
  return sp && dash && dash < sp;
}

}  // namespace

bool huge_pages_wanted() {
  const char* v = std::getenv("WHALE_HUGE_PAGES");
  return !(v && std::strcmp(v, "0") == 0);
}

void advise_huge_pages(const void* p, size_t n) {
#ifdef MADV_HUGEPAGE
  if (!p || n == 0 || !huge_pages_wanted()) return;
  // madvise wants a page-aligned start; the mappings passed here are.
  (void)madvise(const_cast<void*>(p), n, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

void advise_small_pages(const void* p, size_t n) {
#ifdef MADV_NOHUGEPAGE
  if (!p || n == 0 || !huge_pages_wanted()) return;
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = uintptr_t(p) & ~(page - 1);
  const uintptr_t end = (uintptr_t(p) + n + page - 1) & ~(page - 1);
  (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_NOHUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

int64_t huge_mapped_bytes(const void* p) {
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (!f) return -1;
  char line[512];
  bool inside = false, found = false;
  int64_t kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (is_mapping_header(line)) {
      if (found) break;
      inside = std::strtoull(line, nullptr, 16) == uintptr_t(p);
      found = inside;
      continue;
    }
    if (!inside) continue;
    long long v = 0;
    if (std::sscanf(line, "FilePmdMapped: %lld kB", &v) == 1 ||
        std::sscanf(line, "AnonHugePages: %lld kB", &v) == 1)
      kib += v;
  }
  std::fclose(f);
  return found ? kib * 1024 : -1;
}

HugeBuffer::HugeBuffer(size_t bytes) {
  if (bytes == 0) return;
#if defined(__SANITIZE_ADDRESS__)
  // Heap memory under AddressSanitizer, which checks the bounds of heap blocks but not of
  // mappings; huge pages do not matter in such a build.
  data_ = std::calloc(1, bytes);
  if (data_) bytes_ = bytes;
#else
  // Over-allocate by one huge page so the buffer can start on a 2 MiB boundary, then give the
  // slack on both sides back.
  const size_t padded = bytes + kHugePage;
  void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return;
  const uintptr_t base = uintptr_t(raw);
  const uintptr_t start = (base + kHugePage - 1) & ~uintptr_t(kHugePage - 1);
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t end = (start + bytes + page - 1) & ~(page - 1);
  if (start > base) munmap(raw, start - base);
  if (base + padded > end) munmap(reinterpret_cast<void*>(end), base + padded - end);
  data_ = reinterpret_cast<void*>(start);
  bytes_ = bytes;
  advise_huge_pages(data_, bytes_);
#endif
}

void HugeBuffer::release() {
#if defined(__SANITIZE_ADDRESS__)
  std::free(data_);
#else
  if (data_) munmap(data_, bytes_);
#endif
  data_ = nullptr;
  bytes_ = 0;
}

HugeBuffer::~HugeBuffer() {
  release();
}

HugeBuffer& HugeBuffer::operator=(HugeBuffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    bytes_ = o.bytes_;
    o.data_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

}  // namespace whale
