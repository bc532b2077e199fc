struct node { struct node *next; int key; };
struct node *push(struct node *head, int key);
unsigned hash(const char *s);
