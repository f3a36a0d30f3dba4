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

// Below this a file is left alone (tests' tiny models): the probe is not worth its read.
constexpr size_t kMinStreamedBytes = size_t(64) << 20;

void* map_read_only(int fd, size_t size) {
  void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// Advises 2 MiB pages for the whole mapping. Readahead under that advice fills the page cache
// with 2 MiB folios, which the kernel maps with one entry each; but a file already cached in
// small folios (just downloaded, copied or converted) stays in them. A 2 MiB probe from the
// middle of the file tells which case holds: mapped huge as it is (leave it), small but huge
// once dropped and read again (then the kernel and filesystem can do it, ext4 from Linux 6.16:
// drop the whole cached copy and read it back in 2 MiB folios, once per page-cache lifetime
// of the file), or small either way (leave it). Files larger than half the RAM are not
// probed: they do not stay cached anyway.
void map_for_streaming(int fd, size_t size, uint8_t* p, const std::string& path) {
  advise_huge_pages(p, size);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const double ram = pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
  if (!huge_pages_wanted() || size < kMinStreamedBytes || double(size) > ram / 2) return;
#ifdef MADV_POPULATE_READ
  constexpr size_t kPiece = size_t(2) << 20;
  const size_t off = (size / 2) & ~(kPiece - 1);
  // MADV_DONTNEED on a shared file mapping only unmaps; POSIX_FADV_DONTNEED then drops the
  // cached pages that no process maps.
  auto drop = [&](size_t at, size_t n) {
    (void)madvise(p + at, n, MADV_DONTNEED);
    (void)posix_fadvise(fd, off_t(at), off_t(n), POSIX_FADV_DONTNEED);
  };
  if (madvise(p + off, kPiece, MADV_POPULATE_READ) != 0) return;  // kernel < 5.14
  if (huge_mapped_bytes(p) <= 0) {  // cached small, or not cached: read the probe again
    drop(off, kPiece);
    (void)madvise(p + off, kPiece, MADV_POPULATE_READ);
    if (huge_mapped_bytes(p) > 0) {
      std::fprintf(stderr,
                   "whale: %s is cached in 4 KiB pages; reading it again in 2 MiB pages (once "
                   "while it stays cached)\n",
                   path.c_str());
      drop(0, size);
      // Read back now rather than by whichever token first needs a page (an expert first
      // routed to mid-generation would wait for the disk), then unmapped: the page cache keeps
      // it, and only what the model touches counts as this process's memory.
      (void)madvise(p, size, MADV_POPULATE_READ);
      (void)madvise(p, size, MADV_DONTNEED);
    }
  }
  (void)madvise(p + off, kPiece, MADV_DONTNEED);  // the probe leaves nothing mapped
#else
  (void)fd;
  (void)path;
#endif
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
    if (p && use == Use::kStreamedWeights)
      map_for_streaming(fd, f->size_, static_cast<uint8_t*>(p), path);
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
