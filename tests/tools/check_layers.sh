#!/bin/sh
# Layers (shared/style.md): core <- quant <- encoder, decoder <- models <- cli (and bench);
# cli/hub/ is the network client of `pull`, the only code that opens a connection. A folder
# may include its own headers and those of the layers below it, never above or beside. The build
# enforces this through per-library include roots; this checks the sources themselves.
# Usage: check_layers.sh SOURCE_DIR
cd "$1" || exit 1
allowed() {
  case "$1" in
    core) echo "core" ;;
    quant) echo "core quant" ;;
    encoder) echo "core quant encoder" ;;
    decoder) echo "core quant decoder" ;;
    models) echo "core quant encoder decoder models" ;;
    cli | cli/serve | cli/hub) echo "core quant encoder decoder models cli" ;;
    bench) echo "core quant encoder decoder models bench" ;;
  esac
}
failed=0
n=0
for folder in core quant encoder decoder models cli cli/serve cli/hub bench; do
  ok=$(allowed "$folder")
  for f in "$folder"/*.cpp "$folder"/*.h; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    for inc in $(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)/.*|\1|p' "$f" | sort -u); do
      case " $ok " in
        *" $inc "*) ;;
        *)
          echo "$f includes $inc/: $folder may include only: $ok"
          failed=1
          ;;
      esac
    done
  done
done
[ "$n" -gt 0 ] || { echo "FAILED: no sources under $1"; exit 1; }
[ "$failed" -eq 0 ] || { echo "FAILED: an include runs back up (or across) the layers"; exit 1; }
echo "ok: $n files include only their own layer and those below"
