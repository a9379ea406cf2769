"""Faces: detection with MediaPipe BlazeFace, square crops, and tracking across frames."""
