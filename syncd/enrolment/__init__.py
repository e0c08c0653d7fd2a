"""Face enrolment of a new device: the pure match decision, photos made ready for dlib, dlib in a
process pool, descriptors sealed at rest, and the service that ties a face to a card number."""
