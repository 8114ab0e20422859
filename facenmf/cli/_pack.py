"""The verb that writes a face store: pack."""

from __future__ import annotations

import json
import os
import sys

from .._atomic import check_output
from ._io import bar, crop_option

#: How ``pack`` treats an existing -o, said in its --help and in its errors.
OUTPUT_HELP = ("the face store to write, a folder such as faces.zarr (missing parent folders "
               "are created; not inside SOURCE). If it exists it must be the store of this "
               "same pack (same SOURCE, same files, same options): an unfinished one is "
               "resumed, its finished chunks kept (a chunk whose image files changed since "
               "is made again); a finished one is left as it is. Anything else there is "
               "refused, never overwritten")


def cmd_pack(args, parser):
    from ..data import pack_faces

    output = check_output(args.output, "-o/--output", folder=True)
    bars = []  # made at the first report, so that a bad argument prints no empty bar

    def progress(done, total):
        if not bars:
            bars.append(bar(total, "pack", "face", args.json))
        bars[0].update(done - bars[0].n)

    try:
        report = pack_faces(args.source, output, path=args.path, layout=args.layout,
                            pattern=args.pattern, glob=args.glob,
                            size=tuple(args.size) if args.size else None,
                            crop=crop_option(args.crop), detect=args.detect,
                            equalize=args.equalize, normalize=args.normalize,
                            processes=args.processes, chunk_faces=args.chunk_faces,
                            progress=progress)
    except KeyboardInterrupt:
        for shown in bars:
            shown.close()
        if os.path.isdir(output):
            print(f"facenmf: interrupted: the finished chunks of {output} are kept; run the "
                  "same command again to resume", file=sys.stderr)
        else:
            print("facenmf: interrupted", file=sys.stderr)
        return 130
    finally:
        for shown in bars:
            shown.close()
    if args.json:
        print(json.dumps(report.to_json()))
        return 0
    h, w = report.image_shape
    if not report.written:
        print(f"{output}: already packed ({report.n_faces} faces of {h}x{w}, "
              f"{_count(report.n_chunks, 'chunk')}); nothing to do")
        return 0
    rate = report.faces_written / report.seconds if report.seconds > 0 else float("inf")
    resumed = f", {len(report.kept)} already packed" if report.kept else ""
    print(f"{report.n_faces} faces of {h}x{w} -> {output}: "
          f"{_count(report.n_chunks, 'chunk')} of {report.chunk_faces} faces "
          f"({len(report.written)} written{resumed}) by {_count(report.processes, 'process')} "
          f"in {report.seconds:.1f} s, {rate:.0f} faces/s")
    return 0


def _count(n, word):
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"
