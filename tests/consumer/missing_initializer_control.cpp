// Control for the options consumer: a struct without default member initializers,
// designated-initialised with a field left out. Under the consumer's flags this must not
// compile; if it does, the consumer test proves nothing.
struct Plain {
  int first;
  int second;
};

int main() {
  Plain plain{.first = 1};
  return plain.first;
}
