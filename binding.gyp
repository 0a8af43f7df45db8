{
  "targets": [
    {
      "target_name": "concord_native",
      "sources": ["native/list_dir.c", "native/copy_small.c", "native/hash_file.c", "native/flock.c", "native/copy_sparse.c", "native/malloc_pad.c", "native/set_times.c", "native/rename.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
