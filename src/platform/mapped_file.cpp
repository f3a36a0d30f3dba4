#include "platform/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "platform/huge_pages.h"

namespace whale {

namespace {

// Below this a file is not worth a populate pass (tests' tiny models, tokenizer files).
constexpr size_t kMinStreamedBytes = size_t(64) << 20;

#ifdef MADV_POPULATE_READ
// Whether this kernel and filesystem map the file in 2 MiB pages at all (ext4 does from Linux
// 6.16 on, older ones never): one 2 MiB piece from the middle is dropped from the page cache
// and read again through the advised mapping p. Costs one small read; a "no" keeps every later
// start from re-reading the whole file in vain.
bool huge_pages_possible(int fd, size_t size, uint8_t* p, int64_t huge_before) {
  constexpr size_t kPiece = size_t(2) << 20;
  const size_t off = (size / 2) & ~(kPiece - 1);
  if (off + kPiece > size) return false;
  (void)madvise(p + off, kPiece, MADV_DONTNEED);  // a shared file mapping: only unmaps
  (void)posix_fadvise(fd, off_t(off), off_t(kPiece), POSIX_FADV_DONTNEED);
  (void)madvise(p + off, kPiece, MADV_POPULATE_READ);
  return huge_mapped_bytes(p) > huge_before;
}
#endif

void* map_read_only(int fd, size_t size) {
  void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// Maps the whole file now (instead of page by page during the first forward pass) and advises
// 2 MiB pages. Readahead under that advice fills the page cache with 2 MiB folios, which the
// kernel then maps with one entry each; but a file already cached in small folios (just
// downloaded, copied or converted) stays in them. Such a copy, where nobody else maps it, is
// dropped and read again through the advised mapping: once per page-cache lifetime of the file,
// about a disk read of it, for ~10-30% faster decoding afterwards (measured: 1.5B Q8_0
// 18-24 -> 25-27 tok/s). Files larger than half the RAM are left lazy: populating them would
// only evict themselves.
void* map_for_streaming(int fd, size_t size, void* p, const std::string& path) {
  advise_huge_pages(p, size);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const double ram = pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
  if (!huge_pages_wanted() || size < kMinStreamedBytes || double(size) > ram / 2) return p;
#ifdef MADV_POPULATE_READ
  if (madvise(p, size, MADV_POPULATE_READ) != 0) return p;  // kernel < 5.14: stay lazy
  const int64_t huge = huge_mapped_bytes(p);
  if (huge < 0 || uint64_t(huge) >= size / 2) return p;
  if (!huge_pages_possible(fd, size, static_cast<uint8_t*>(p), huge)) return p;
  std::fprintf(stderr,
               "whale: %s is cached in small pages (%lld of %zu MiB in 2 MiB pages); reading it "
               "again so it can be mapped in 2 MiB pages\n",
               path.c_str(), (long long)(huge >> 20), size >> 20);
  munmap(p, size);
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);  // drops only pages no process maps
  p = map_read_only(fd, size);
  if (!p) return nullptr;
  advise_huge_pages(p, size);
  (void)madvise(p, size, MADV_POPULATE_READ);
#else
  (void)path;
  (void)fd;
#endif
  return p;
}

}  // namespace

Result<std::shared_ptr<MappedFile>> MappedFile::open(const std::string& path, Use use) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open %s: %s", path.c_str(), std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error("%s is not a regular file", path.c_str());
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = map_read_only(fd, f->size_);
    if (p && use == Use::kStreamedWeights) p = map_for_streaming(fd, f->size_, p, path);
    if (!p) {
      int e = errno;
      ::close(fd);
      return make_error("cannot map %s: %s", path.c_str(), std::strerror(e));
    }
    f->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
  return f;
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

Result<std::string> read_text_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open %s: %s", path.c_str(), std::strerror(errno));
  in.seekg(0, std::ios::end);
  auto size = in.tellg();
  if (size < 0) return make_error("cannot read %s", path.c_str());
  if (static_cast<size_t>(size) > max_bytes)
    return make_error("%s is too large (%lld bytes, limit %zu)", path.c_str(),
                      static_cast<long long>(size), max_bytes);
  in.seekg(0);
  std::string s(static_cast<size_t>(size), '\0');
  in.read(s.data(), size);
  if (!in) return make_error("cannot read %s", path.c_str());
  return s;
}

}  // namespace whale
