# Sourced by remote.sh and evidence.sh on the GPU server: unpack the bundle made by pack.sh into a
# scratch folder, put the Vulkan loader on the library path (unpacked, never installed into /),
# point Vulkan at NVIDIA's driver. Leaves $work (the scratch folder) and $node (the bundled node).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bundle=${PE_BUNDLE:-$here/prompt-experts-gpu.tar.xz}
work=${PE_WORK:-/tmp/prompt-experts-gpu}
mkdir -p "$work" && tar -C "$work" -xJf "$bundle"
mkdir -p "$work/root"
for f in "$work"/debs/*.deb; do dpkg -x "$f" "$work/root"; done
export LD_LIBRARY_PATH="$work/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] || icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1 || true)
[ -n "$icd" ] && export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
export TFJS_WASM_DIR="$work/app/wasm/" PROMPT_EXPERTS_MNIST_DIR="$work/app/mnist"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
node=$work/bin/node
