"""Decoding: videos through ffmpeg, stills through OpenCV/Pillow, folders into file lists."""
